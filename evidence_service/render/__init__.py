"""Render: pictures and documents for people — graph pictures, the evidence-list PDF, the package
report.
"""
