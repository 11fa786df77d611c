// A volunteer trains, so it restarts itself once with glibc's allocator tuned for libtorch (docs/benchmarks/training.md);
// HIVEMIND_MALLOC_TUNING=off keeps glibc's defaults.
if (Hivemind.Training.Allocator.MallocRelaunch.RelaunchOrExitCode() is int exitCode)
    return exitCode;
return await Hivemind.Volunteer.VolunteerProgram.RunAsync(args);
