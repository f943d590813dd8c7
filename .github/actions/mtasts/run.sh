#!/usr/bin/env bash
# The shell of the mtasts action: runs `mtasts check` on the action's inputs, which come
# as environment variables (INPUT_*), never pasted into a script, so that no domain or
# option can inject shell. Exits with mtasts's code (0 clean, 1 findings at --fail-on,
# 2 could not audit) and writes it to the step's outputs as exit-code.
set -euo pipefail
# Words split from the inputs are never globbed.
set -f

# Domains: separated by white space, commas or new lines.
read -r -a domains <<<"$(printf '%s' "${INPUT_DOMAINS:-}" | tr ',\n' '  ')"
# Extra options: split on white space, no quoting (no option of mtasts takes a space).
read -r -a args <<<"$(printf '%s' "${INPUT_ARGS:-}" | tr '\n' ' ')"

code=0
mtasts check --format "${INPUT_FORMAT:-github}" --fail-on "${INPUT_FAIL_ON:-error}" \
    "${args[@]}" -- "${domains[@]}" || code=$?

if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "exit-code=$code" >>"$GITHUB_OUTPUT"
fi
exit "$code"
