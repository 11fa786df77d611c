using System.Buffers;
using System.Runtime.ExceptionServices;
using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Microsoft.Win32.SafeHandles;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// The payload of an opened submission (its envelope, lease and exact length already verified) while it streams in: a pooled buffer
/// that the protocol's reader fills, and two worker threads: as the bytes arrive, one checks the tensors in their wire form, the other
/// writes them to a file under <c>incoming/</c> (direct I/O where the filesystem allows it) and flushes it. Nothing the worker finds counts before the stream has ended with
/// the exact length and the envelope's SHA-256: <see cref="CoordinatorEngine.CompleteSubmit(SubmitTicket, IncomingPayload)"/> raises
/// its verdict only then, the same verdict as decoding the whole payload afterwards gives. A payload below
/// <see cref="PipelineMinBytes"/>, or one that finds every worker busy, is decoded and written after the stream instead.
/// </summary>
public sealed class IncomingPayload : IProgress<long>, IAsyncDisposable, IDisposable
{
    /// <summary>Below this a thread of its own costs more than overlapping the decode saves.</summary>
    public const long PipelineMinBytes = 64 << 10;

    /// <summary>Worker threads in this process at once; a burst of large uploads beyond it decodes after each stream, as before.</summary>
    public const int MaxWorkers = 4;

    /// <summary>Least bytes written to the staging file per write call: large enough that the disk streams, a whole number of blocks.</summary>
    private const int StageSliceBytes = 4 << 20;

    /// <summary>
    /// Most bytes per write call. A writer that fell behind writes everything that has arrived in one call: on two busy cores each
    /// wake-up of the staging thread after a write waits for a core, and 28 small writes per 115 MB update left the file 120–170 ms
    /// behind the stream's last byte (session 9 in docs/benchmarks/coordinator.md).
    /// </summary>
    private const int MaxStageWriteBytes = 32 << 20;

    /// <summary>
    /// The staging file's data is flushed to disk each time this much more was written, while the stream continues, so the fsync after
    /// the last byte (which the reply waits for) has at most this much left. A flush costs in proportion to what was written since the
    /// previous one (about 0.8–1.3 ms per MB on the virtual disk measured in docs/benchmarks/coordinator.md, session 9): one fsync of a
    /// whole 115 MB update after its last byte took 65–85 ms, in steps it runs beside the stream.
    /// </summary>
    private const int StageFlushBytes = 8 << 20;

    /// <summary>Direct I/O needs buffer addresses, offsets and lengths in whole logical blocks; 4 KiB covers 512-byte devices too.</summary>
    private const int DirectIoAlignment = 4096;

    private static readonly SemaphoreSlim WorkerSlots = new(MaxWorkers, MaxWorkers);

    /// <summary>
    /// Pinned receive buffers of pipelined payloads, kept for the next upload (at most one per worker): fresh memory costs a page
    /// fault per 4 KiB, which on a virtual machine is the largest single cost of a 100 MB upload, and a pinned buffer has a fixed
    /// address, so its block-aligned part goes to the staging file with direct I/O as it is, with no copy.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentBag<byte[]> Receivers = [];

    private readonly UpdateVerifier _verifier;
    private readonly ShardSpec _shard;
    private readonly CodecSettings _codec;
    private readonly IProgress<long>? _observer;
    private readonly byte[] _array;
    private readonly int _offset;
    private readonly BufferSource _source;
    private readonly object _gate = new();
    private readonly TaskCompletionSource _processed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _stagePath;
    private SafeFileHandle? _stage;
    private bool _direct;
    private Exception? _stageError;
    private bool _staged;
    private readonly object _flushGate = new();
    private long _written;
    private bool _writesDone;
    private Exception? _flushError;
    private int _running;
    private long _filled;
    private bool _aborted;
    private bool _workerSlot;
    private bool _disposed;
    private IReadOnlyDictionary<string, double>? _norms;
    private ExceptionDispatchInfo? _verdict;

    private IncomingPayload(byte[] array, int offset, long length, BufferSource source, UpdateVerifier verifier, ShardSpec shard, CodecSettings codec, string? stagePath, IProgress<long>? observer)
    {
        _array = array;
        _offset = offset;
        Buffer = array.AsMemory(offset, checked((int)length));
        Length = length;
        _source = source;
        _verifier = verifier;
        _shard = shard;
        _codec = codec;
        _observer = observer;
        _stagePath = stagePath;
    }

    /// <summary>Where the reader puts the payload: exactly <see cref="Length"/> bytes.</summary>
    public Memory<byte> Buffer { get; }

    /// <summary>The exact payload length (the coordinator's number for the leased shard).</summary>
    public long Length { get; }

    /// <summary>When each step of this payload ended (the reader, the workers and the engine mark theirs).</summary>
    public SubmitTimings Timings { get; } = new();

    /// <summary>Whether a worker decodes and stages while the bytes arrive.</summary>
    public bool Pipelined => _workerSlot;

    /// <summary>
    /// A payload to be received: pipelined when it is large enough and a worker slot is free (the staging file then goes to
    /// <paramref name="incomingDirectory"/>), otherwise plain. <paramref name="observer"/> sees every fill level too.
    /// </summary>
    internal static IncomingPayload Receive(long length, UpdateVerifier verifier, ShardSpec shard, CodecSettings codec, string incomingDirectory, string name, IProgress<long>? observer)
    {
        if (length > Array.MaxLength)
            throw new ProtocolException(RejectReason.Oversized, $"the payload of {length} bytes is larger than one buffer holds ({Array.MaxLength}); lower the shard size");
        bool pipelined = length >= PipelineMinBytes && WorkerSlots.Wait(0);
        IncomingPayload? payload = null;
        try
        {
            // Reused: a 100 MB update would otherwise land on freshly faulted pages every time.
            payload = pipelined
                ? new IncomingPayload(RentReceiver(length, out int offset), offset, length, BufferSource.Receivers, verifier, shard, codec, Path.Combine(incomingDirectory, name + ".part"), observer)
                : new IncomingPayload(ArrayPool<byte>.Shared.Rent(checked((int)length)), 0, length, BufferSource.SharedPool, verifier, shard, codec, null, observer);
            if (pipelined)
            {
                payload._workerSlot = true;
                payload.StartWorker(incomingDirectory);
            }
            else
            {
                // No worker: Verify decodes after the stream. Without this, awaiting ProcessedAsync (the submit path does, and so does
                // DisposeAsync) never returned for a small payload (a top-k update) or one that found every worker busy.
                payload._processed.TrySetResult();
            }
            return payload;
        }
        catch
        {
            if (payload is null && pipelined) WorkerSlots.Release();
            payload?.Dispose();
            throw;
        }
    }

    /// <summary>A payload that is already complete in memory (in-process submissions): decoded and written when it is completed.</summary>
    internal static IncomingPayload Complete(byte[] payload, UpdateVerifier verifier, ShardSpec shard, CodecSettings codec)
    {
        var p = new IncomingPayload(payload, 0, payload.LongLength, BufferSource.Caller, verifier, shard, codec, null, null);
        p._filled = payload.LongLength;
        p._processed.TrySetResult();
        return p;
    }

    /// <summary>Bytes received so far (the reader reports after each chunk).</summary>
    public long Received => Volatile.Read(ref _filled);

    /// <summary>The reader has put the first <paramref name="value"/> bytes into <see cref="Buffer"/>; they never change again.</summary>
    public void Report(long value)
    {
        lock (_gate)
        {
            _filled = value;
            Monitor.PulseAll(_gate);
        }
        if (value == Length) Timings.Mark(SubmitPhase.LastByte);
        _observer?.Report(value);
    }

    /// <summary>Completes when the worker has decoded, checked and staged everything (already complete for a plain payload); never faults.</summary>
    public Task ProcessedAsync() => _processed.Task;

    /// <summary>
    /// The update's group norms, or the rejection checking it gives (thrown here). The update stays in its wire form: it is decoded
    /// when its round closes (<see cref="UpdateVerifier.CheckWire"/>). Call only once the stream ended with the exact length and
    /// hash, and after <see cref="ProcessedAsync"/> (a plain payload is checked now).
    /// </summary>
    internal IReadOnlyDictionary<string, double> Verify()
    {
        if (!_workerSlot) return _verifier.CheckWire(Buffer, Length, _ => Length, _shard, _codec);
        _processed.Task.GetAwaiter().GetResult();
        _verdict?.Throw();
        return _norms!;
    }

    /// <summary>
    /// Makes the verified payload durable at <paramref name="path"/>: the staged file is flushed and renamed there, a plain payload is
    /// written and flushed. The caller flushes the directory. Throws <see cref="IOException"/> (or <see cref="UnauthorizedAccessException"/>)
    /// when storage fails, including a failure while staging.
    /// </summary>
    /// <param name="path">Where the payload goes.</param>
    /// <param name="flush">Whether to flush it to disk (CoordinatorOptions.Durable; simulations skip it).</param>
    internal void Commit(string path, bool flush = true)
    {
        if (_stage is null)
        {
            if (_stageError is not null) ExceptionDispatchInfo.Throw(_stageError);
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None);
            for (long at = 0; at < Length; at += StageSliceBytes)
                RandomAccess.Write(file, Buffer.Span.Slice((int)at, (int)Math.Min(StageSliceBytes, Length - at)), at);
            if (flush) RandomAccess.FlushToDisk(file);
            return;
        }
        if (_stageError is not null) throw _stageError as IOException ?? new IOException($"staging the payload in {_stagePath} failed: {_stageError.Message}", _stageError);
        if (!_staged) throw new IOException($"the payload was not staged completely in {_stagePath}");
        _stage.Dispose();
        _stage = null;
        File.Move(_stagePath!, path, overwrite: true);
    }

    private void StartWorker(string incomingDirectory)
    {
        try
        {
            Directory.CreateDirectory(incomingDirectory);
            _stage = OpenStage(_stagePath!, out _direct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Reported as a storage failure once the payload is verified, as a failed write after the stream would be.
            _stageError = e;
        }
        _running = _stage is null ? 1 : 2;
        new Thread(Decode) { IsBackground = true, Name = "submit decode" }.Start();
        if (_stage is not null) new Thread(StageAll) { IsBackground = true, Name = "submit stage" }.Start();
    }

    /// <summary>Direct I/O where the filesystem has it (not tmpfs, for one): the bytes go from a pinned buffer to the disk without a kernel copy.</summary>
    private static SafeFileHandle OpenStage(string path, out bool direct)
    {
        var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None);
        direct = DurableFiles.TryEnableDirectIo(file);
        return file;
    }

    private void Decode()
    {
        try
        {
            _norms = _verifier.CheckWire(Buffer, Length, WaitFor, _shard, _codec);
            Timings.Mark(SubmitPhase.Checked);
        }
        catch (OperationCanceledException) when (Volatile.Read(ref _aborted))
        {
            // The stream failed: nothing to report.
        }
        catch (Exception e)
        {
            // Kept until the payload is verified: an unverified stream's content must not cost its sender anything.
            _verdict = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            Finished();
        }
    }

    /// <summary>
    /// Writes the bytes to the staging file slice by slice as they arrive, straight from the block-aligned receive buffer, while a
    /// flusher thread (<see cref="FlushWhileWriting"/>) flushes what was written in steps of <see cref="StageFlushBytes"/>; then cuts
    /// the file to its exact length and fsyncs it, which then has little left to do.
    /// </summary>
    private void StageAll()
    {
        // A payload within one flush step (a tiny or top-k update) has nothing to flush early: no thread for it.
        Thread? flusher = Length > StageFlushBytes ? new Thread(FlushWhileWriting) { IsBackground = true, Name = "submit flush" } : null;
        flusher?.Start();
        try
        {
            for (long at = 0; at < Length;)
            {
                // At least one slice (or the rest), and whatever more has arrived meanwhile, in whole blocks until the end.
                long filled = WaitFor(Math.Min(at + StageSliceBytes, Length));
                long end = Math.Min(Math.Min(filled, Length), at + MaxStageWriteBytes);
                if (end < Length) end = at + (end - at) / DirectIoAlignment * DirectIoAlignment;
                int count = (int)(end - at);
                // Whole blocks for direct I/O: the tail runs into the buffer's slack here and is cut back to the exact length below.
                int written = _direct ? (count + DirectIoAlignment - 1) / DirectIoAlignment * DirectIoAlignment : count;
                RandomAccess.Write(_stage!, _array.AsSpan(_offset + (int)at, written), at);
                if (!_direct) DurableFiles.StartWriteback(_stage!, at, count);
                at = end;
                lock (_flushGate)
                {
                    _written = at;
                    Monitor.PulseAll(_flushGate);
                }
            }
            Timings.Mark(SubmitPhase.Written);
            StopFlusher(flusher);
            if (_flushError is not null) ExceptionDispatchInfo.Throw(_flushError);
            RandomAccess.SetLength(_stage!, Length);
            RandomAccess.FlushToDisk(_stage!);
            Timings.Mark(SubmitPhase.Staged);
            _staged = true;
        }
        catch (OperationCanceledException) when (Volatile.Read(ref _aborted))
        {
            // The stream failed: the file is deleted.
        }
        catch (Exception e)
        {
            // Never escapes the thread (that would end the process): reported as a storage failure once the payload is verified.
            _stageError = e;
        }
        finally
        {
            StopFlusher(flusher); // before the handle can be closed
            Finished();
        }
    }

    /// <summary>
    /// The flusher thread: each time <see cref="StageFlushBytes"/> more were written, flushes the staging file's data while the writes
    /// go on (a flush and a write each wait for the disk, not for a core). It stops when the writes are done: the final fsync covers the rest.
    /// </summary>
    private void FlushWhileWriting()
    {
        try
        {
            long flushed = 0;
            while (true)
            {
                long target;
                lock (_flushGate)
                {
                    while (_written - flushed < StageFlushBytes && !_writesDone) Monitor.Wait(_flushGate);
                    if (_writesDone) return;
                    target = _written;
                }
                DurableFiles.FlushData(_stage!);
                flushed = target;
            }
        }
        catch (Exception e)
        {
            // Never escapes the thread; the staging thread raises it as a storage failure before its own fsync.
            _flushError = e;
        }
    }

    private void StopFlusher(Thread? flusher)
    {
        if (flusher is null) return;
        lock (_flushGate)
        {
            _writesDone = true;
            Monitor.PulseAll(_flushGate);
        }
        flusher.Join(); // at most one flush in flight
    }

    /// <summary>
    /// A pinned buffer from <see cref="Receivers"/> (or a new one) holding <paramref name="length"/> bytes from a block-aligned
    /// <paramref name="offset"/>, plus a block of slack so that the last, padded direct-I/O block stays inside it.
    /// </summary>
    private static byte[] RentReceiver(long length, out int offset)
    {
        long needed = length + 2L * DirectIoAlignment;
        var kept = new List<byte[]>();
        byte[]? found = null;
        while (Receivers.TryTake(out var candidate))
        {
            if (candidate.LongLength >= needed)
            {
                found = candidate;
                break;
            }
            kept.Add(candidate);
        }
        foreach (var candidate in kept) Receivers.Add(candidate); // too small for this payload, right for others
        found ??= GC.AllocateUninitializedArray<byte>(checked((int)needed), pinned: true);
        long address = System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(found, 0).ToInt64();
        offset = (int)((DirectIoAlignment - address % DirectIoAlignment) % DirectIoAlignment);
        return found;
    }

    private void Finished()
    {
        if (Interlocked.Decrement(ref _running) == 0) _processed.TrySetResult();
    }

    /// <summary>Blocks a worker until at least <paramref name="count"/> bytes are in; returns how many are.</summary>
    private long WaitFor(long count)
    {
        long filled = Volatile.Read(ref _filled);
        if (filled >= count) return filled;
        lock (_gate)
        {
            while (_filled < count && !_aborted) Monitor.Wait(_gate);
            if (_filled < count) throw new OperationCanceledException("the update stream ended early");
            return _filled;
        }
    }

    private void Abort()
    {
        lock (_gate)
        {
            _aborted = true;
            Monitor.PulseAll(_gate);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        await _processed.Task.ConfigureAwait(false);
        Release();
    }

    public void Dispose()
    {
        Abort();
        _processed.Task.GetAwaiter().GetResult();
        Release();
    }

    private void Release()
    {
        if (_disposed) return;
        _disposed = true;
        _stage?.Dispose();
        _stage = null;
        if (_stagePath is not null)
        {
            try
            {
                File.Delete(_stagePath); // gone already once committed
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Cleared at the next start.
            }
        }
        if (_source == BufferSource.SharedPool) ArrayPool<byte>.Shared.Return(_array);
        else if (_source == BufferSource.Receivers && Receivers.Count < MaxWorkers) Receivers.Add(_array);
        if (_workerSlot) WorkerSlots.Release();
    }

    /// <summary>Who owns the array behind <see cref="Buffer"/>, and so where it goes back on dispose.</summary>
    private enum BufferSource
    {
        /// <summary>The caller's array (in-process submissions): nothing to return.</summary>
        Caller,

        /// <summary><see cref="ArrayPool{T}.Shared"/> (small or unpipelined payloads).</summary>
        SharedPool,

        /// <summary><see cref="Receivers"/> (pipelined payloads).</summary>
        Receivers,
    }
}
