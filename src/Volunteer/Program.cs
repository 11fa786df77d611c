// A volunteer trains, so it restarts itself once with glibc's allocator tuned for libtorch (docs/benchmarks/training.md);
// HIVEMIND_MALLOC_TUNING=off keeps glibc's defaults.
if (Hivemind.Training.Allocator.MallocRelaunch.TryRelaunch(out var error) is false)
{
    Console.Error.WriteLine($"error: {error}");
    return 2;
}
return await Hivemind.Volunteer.VolunteerProgram.RunAsync(args);
