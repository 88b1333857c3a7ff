#!/bin/sh
# sh_test wrapper: runs a py_binary (component_linked, image_size) with the test's args.
exec "$@"
