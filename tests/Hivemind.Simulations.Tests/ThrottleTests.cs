using Hivemind.Simulations.Network;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Simulations.Tests;

/// <summary>check-timing's throttled link on a fake clock: bytes cross at the link's rate, never faster, with no credit from idle time.</summary>
public sealed class ThrottleTests
{
    private const int Slice = ThrottledStream.SliceBytes;

    // One slice per second: every step of the fake clock releases at most one slice.
    private const double SlicePerSecond = Slice;
    private const int Slices = 4;
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void The_link_books_bytes_back_to_back_at_its_rate()
    {
        var time = new FakeTimeProvider();
        var link = new LinkClock(1000, time);

        Assert.Equal(TimeSpan.FromSeconds(0.5), link.Reserve(500));
        Assert.Equal(TimeSpan.FromSeconds(1.0), link.Reserve(500)); // queued behind the first 500 bytes
        time.Advance(TimeSpan.FromSeconds(0.25));
        Assert.Equal(TimeSpan.FromSeconds(0.85), link.Reserve(100));

        // Idle time earns no burst: after the link drained, 100 bytes still take 0.1 s.
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(0.1), link.Reserve(100));
        Assert.Equal(1200, link.BytesCarried);
    }

    [Fact]
    public void A_bad_rate_is_refused_with_the_value()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LinkClock(0));
        Assert.Contains("0 bytes/s", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinkClock(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ThrottledLink(4, -1).CreateHandler());
    }

    [Fact]
    public async Task Writes_pass_on_one_slice_per_slice_time_no_sooner_and_no_later()
    {
        var time = new TimerSignallingTimeProvider();
        var inner = new MemoryStream();
        await using var stream = new ThrottledStream(inner, new LinkClock(SlicePerSecond, time), down: null);

        var write = stream.WriteAsync(new byte[Slices * Slice]).AsTask();
        for (int i = 0; i < Slices; i++)
        {
            // The stream waits on the link for slice i + 1: exactly i slices have crossed in i seconds.
            await time.NextTimerAsync();
            Assert.Equal(i * Slice, inner.Length);
            Assert.False(write.IsCompleted, $"a {Slices * Slice}-byte write finished after {i} s at {Slice} B/s");
            time.Advance(Step);
        }

        // At exactly Slices seconds the last slice has crossed: the throttle holds the rate, it does not undercut it.
        await write.WaitAsync(Patience);
        Assert.Equal(Slices * Slice, inner.Length);
    }

    [Fact]
    public async Task Reads_hand_over_one_slice_per_slice_time_no_sooner_and_no_later()
    {
        var time = new TimerSignallingTimeProvider();
        await using var stream = new ThrottledStream(new MemoryStream(new byte[Slices * Slice]), up: null, new LinkClock(SlicePerSecond, time));
        var received = new Received();

        // Every read asks for everything; each gets one slice, once the link has carried it.
        var read = ReadToEndAsync(stream, received);
        for (int i = 0; i < Slices; i++)
        {
            await time.NextTimerAsync();
            Assert.Equal(i * Slice, received.Bytes);
            Assert.False(read.IsCompleted, $"{Slices} slices were read in {i} s at one slice per second");
            time.Advance(Step);
        }

        Assert.Equal(Slices * Slice, await read.WaitAsync(Patience));
    }

    [Fact]
    public async Task An_unthrottled_direction_passes_straight_through()
    {
        var inner = new MemoryStream();
        await using var stream = new ThrottledStream(inner, up: null, down: null);
        await stream.WriteAsync(new byte[3 * Slice]);
        Assert.Equal(3 * Slice, inner.Length);
    }

    private static async Task<int> ReadToEndAsync(Stream stream, Received received)
    {
        var buffer = new byte[Slices * Slice];
        for (int i = 0; i <= Slices; i++)
        {
            int n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                return received.Bytes;
            }

            received.Add(n);
        }

        throw new InvalidOperationException($"the stream did not end after {Slices + 1} reads");
    }

    /// <summary>Bytes a reader has been handed so far, read from the test's thread.</summary>
    private sealed class Received
    {
        private int _bytes;

        public int Bytes => Volatile.Read(ref _bytes);

        public void Add(int n) => Interlocked.Add(ref _bytes, n);
    }

    /// <summary>
    /// A fake clock that signals each timer it creates, so a test advances it only once the throttle waits on it (a continuation that
    /// booked its wait after an advance would otherwise be a whole step late).
    /// </summary>
    private sealed class TimerSignallingTimeProvider : FakeTimeProvider
    {
        private readonly SemaphoreSlim _created = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _created.Release();
            return timer;
        }

        public async Task NextTimerAsync() =>
            Assert.True(await _created.WaitAsync(Patience), $"the throttled stream did not wait on the clock within {Patience.TotalSeconds} s");
    }
}
