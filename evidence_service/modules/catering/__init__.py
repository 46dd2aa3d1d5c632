"""Catering smart management (餐饮服务业智管平台): the pure pieces so far — the HJ 212-2017
frame codec and its CRC variants (:mod:`.hj212`), the factor table (:mod:`.factors`), a frame's
validation and the signed envelope (:mod:`.validation`), one device-hour as one document
(:mod:`.hour_batch`), GB 18483 limits and size classes (:mod:`.limits`), the alarm rules
(:mod:`.alarms`), the index and grades (:mod:`.index`), the registry's rows (:mod:`.registry`)
and a device simulator (:mod:`.simulate`).
"""
