// The benchmarks of `make bench`: each section measures ratios within one run and returns
// Markdown; scripts/run-bench.sh writes them to BENCHMARKS.md with the command that ran them.
print(learningBenchmarks())
