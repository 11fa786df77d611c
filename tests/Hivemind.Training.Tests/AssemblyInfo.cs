// Tests set libtorch's global thread count and measure per-thread tensor statistics: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
