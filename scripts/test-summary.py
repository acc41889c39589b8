#!/usr/bin/env python3
"""Merge test logs from the host run and the VM run into one verdict.

Some tests can only run on one of the two kernels (ESP exists only in the VM; the
"no ESP" error path only on the host). A test counts as:
  failed   if it failed anywhere,
  passed   if it passed somewhere and failed nowhere,
  skipped  only if every run that saw it skipped it (the reasons are listed).
Swift Testing's result lines and kselftest-style PASS/FAIL/SKIP lines are read; a shell
test is named by its line without trailing [details] or (details), so the same test run on
both kernels is one test.
The last line is the plain "N passed, N failed, N skipped" that CI reads.
Usage: test-summary.py NAME=LOG [NAME=LOG ...]
"""
import re
import sys

# A test's name is quoted ("its display name", which may hold any word, "skipped" too) or a
# bare function name (name()).
SWIFT = re.compile(r'^(✔|✘|➜) Test (?:"(.+?)"|(\S+))(?: with \d+ test cases?)? (passed after|failed after|skipped)(?::\s*(.*))?')
SHELL = re.compile(r'^(PASS|FAIL|SKIP): (.*)$')
# A shell test's name is its text up to a trailing "[details]" or "(details)": the details
# (counters, reasons) differ between kernels, the name does not.
DETAILS = re.compile(r'\s*[\[(][^\[(]*$')
RUN_END = re.compile(r'^(✔|✘) Test run with \d+ tests?')


def read(name, path):
    results, complete = {}, False
    try:
        lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    except OSError as e:
        return {}, False, f'cannot read {path}: {e.strerror}'
    for line in lines:
        line = line.strip()
        if RUN_END.match(line):
            complete = True
        m = SWIFT.match(line)
        if m:
            outcome = {'passed after': 'passed', 'failed after': 'failed', 'skipped': 'skipped'}[m.group(4)]
            results[m.group(2) or m.group(3)] = (outcome, (m.group(5) or '').strip('"'))
            continue
        m = SHELL.match(line)
        if m:
            outcome = {'PASS': 'passed', 'FAIL': 'failed', 'SKIP': 'skipped'}[m.group(1)]
            test = DETAILS.sub('', m.group(2))
            if results.get(test, ('', ''))[0] != 'failed':  # a repeated name keeps its failure
                results[test] = (outcome, m.group(2))
    return results, complete, None


def main(args):
    runs, problems = [], []
    for arg in args:
        name, _, path = arg.partition('=')
        results, complete, error = read(name, path)
        if error:
            problems.append(f'{name}: {error}')
        elif not complete:
            problems.append(f'{name}: the Swift test run did not finish (crash, timeout or build failure): see {path}')
        runs.append((name, results))
    merged = {}
    for name, results in runs:
        for test, (outcome, reason) in results.items():
            merged.setdefault(test, []).append((name, outcome, reason))
    passed = failed = skipped = 0
    for test, seen in sorted(merged.items()):
        outcomes = {o for _, o, _ in seen}
        if 'failed' in outcomes:
            failed += 1
            print(f'FAIL: {test} (' + ', '.join(f'{n}: {o}' for n, o, _ in seen) + ')')
        elif 'passed' in outcomes:
            passed += 1
        else:
            skipped += 1
            print(f'SKIP: {test}: ' + '; '.join(f'{n}: {r}' for n, _, r in seen))
    for p in problems:
        print(f'FAIL: {p}')
    failed += len(problems)
    print(f'tests: {passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
