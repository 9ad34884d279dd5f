#!/bin/sh
# Runs each cmocka unit-test binary given; prints one closing line and fails
# when any test failed.
passed=0 failed=0
for t in "$@"; do
    if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $t"; fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
