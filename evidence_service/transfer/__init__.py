"""Transfer (移送): sealed manifests, sending, the inbox, receipts and the streamed court
package.
"""
