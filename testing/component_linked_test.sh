#!/bin/sh
# sh_test wrapper: runs component_linked (a py_binary) with the test's args.
exec "$@"
