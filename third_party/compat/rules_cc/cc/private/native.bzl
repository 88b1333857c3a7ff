"""The built-in C++ symbols, under other names so they can be re-exported."""

NATIVE_CC_INFO = CcInfo
NATIVE_CC_COMMON = cc_common
