using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Data;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Ledger;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Relay;
using Hivemind.Volunteer.Work;
using CoordinatorClient = Hivemind.Protocol.V1.Coordinator.CoordinatorClient;

namespace Hivemind.Volunteer.Client;

/// <summary>
/// The volunteer's work loop over gRPC: join, request work, download (cached by content hash), train, sign,
/// upload; heartbeats while training; backoff with jitter on transient errors; rejoin when the session is lost.
/// </summary>
public sealed class VolunteerClient
{
    private readonly CoordinatorClient _client;
    private readonly VolunteerIdentity _identity;
    private readonly VolunteerOptions _options;
    private readonly IVolunteerView _view;
    private readonly TimeProvider _time;
    private readonly Backoff _backoff = new();
    private readonly Protocol.V1.Ledger.LedgerClient? _ledger;
    private byte[]? _coordinatorKey;

    /// <summary>Deadline of every unary call: a coordinator that does not answer within it is treated as unreachable.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);
    private string _session = "";
    private TimeSpan _heartbeat = TimeSpan.FromSeconds(5);
    // Sealed payloads live in pooled buffers (a fresh multi-MiB array per unit costs more in page faults than encoding it). Each holder
    // below and each upload owns a lease of its own, so a buffer goes back to the pool only when the last of them is done with it.
    private readonly PayloadBufferPool _payloads = new(maxBuffers: 3);
    private PooledUpdate? _previous; // what a replaying volunteer (red team) resends
    private (string UnitId, PayloadLease Payload)? _lastAccepted; // the base of an eager unit (issue 16)
    private readonly RelayNode? _relay;
    private readonly RelayFetcher? _relayFetcher;
    private readonly RelayRegistry.RelayRegistryClient? _relayRegistry;
    private HeldParameters? _held;
    private bool _seedRefused; // θ_0 from the seed once missed a unit's hash: first downloads are full from then on
    private ErrorFeedback? _feedback;

    /// <summary>File in the cache directory that keeps this key's error-feedback residual across restarts (the cache may be shared).</summary>
    public string ResidualFile => $"residual-{VolunteerIds.FromPublicKey(_identity.PublicKey)[..16]}.fp32";

    private readonly DataSliceFetcher _data;

    // Units whose update the coordinator refused for good (issue 15): never trained again, whatever RequestWork answers.
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private readonly Queue<string> _refusedOrder = new();
    private int _handedBack;

    /// <param name="data">Fetches the token slices real-text units name (needed unless a <c>--data-mirror</c> serves them).</param>
    /// <param name="ledger">The coordinator's Ledger service, to learn its key at join when <see cref="VolunteerOptions.CoordinatorKey"/> is not pinned.</param>
    /// <param name="relay">This volunteer's own relay (--relay), registered after every join; null for a plain volunteer.</param>
    /// <param name="relayFetcher">Downloads from the relays the coordinator lists; null downloads from the coordinator only.</param>
    /// <param name="relayRegistry">The coordinator's relay service: with it, downloads from relays are chunked and parallel against its signed manifest, and lying relays are reported; without it, whole payloads from one relay at a time.</param>
    public VolunteerClient(CoordinatorClient client, VolunteerIdentity identity, VolunteerOptions options, IVolunteerView view, TimeProvider? time = null,
        Protocol.V1.Ledger.LedgerClient? ledger = null, RelayNode? relay = null, RelayFetcher? relayFetcher = null,
        DataDistribution.DataDistributionClient? data = null, RelayRegistry.RelayRegistryClient? relayRegistry = null)
    {
        _relayRegistry = relayRegistry;
        _client = client;
        _data = new DataSliceFetcher(data, options.CacheDirectory, options.DataMirror);
        _ledger = ledger;
        _coordinatorKey = options.CoordinatorKey;
        _identity = identity;
        _options = options;
        _view = view;
        _time = time ?? TimeProvider.System;
        _relay = relay;
        _relayFetcher = relayFetcher;
    }

    public int UnitsSubmitted { get; private set; }

    public int UnitsRejected { get; private set; }

    /// <summary>Acknowledgements whose ledger receipt verified (issue 12).</summary>
    public int ReceiptsVerified { get; private set; }

    /// <summary>Acknowledgements whose ledger receipt was missing or did not verify; each is logged as an error.</summary>
    public int ReceiptsFailed { get; private set; }

    /// <summary>Runs until cancelled, banned, or <see cref="VolunteerOptions.MaxUnits"/> units were submitted. Returns a process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        int attempt = 0;
        while (!ct.IsCancellationRequested && (_options.MaxUnits <= 0 || UnitsSubmitted + UnitsRejected < _options.MaxUnits))
        {
            try
            {
                if (_session.Length == 0) await JoinAsync(ct);
                await WorkOnceAsync(ct);
                attempt = 0;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                break;
            }
            catch (RpcException e) when (RejectReasons.TryGetReason(e, out var reason))
            {
                switch (reason)
                {
                    case RejectReason.Banned:
                        _view.Error($"the coordinator banned this volunteer: {e.Status.Detail}");
                        return ExitCodes.Banned;
                    case RejectReason.ProtocolMismatch or RejectReason.BadAdmissionToken:
                        _view.Error(e.Status.Detail);
                        return ExitCodes.Refused;
                    case RejectReason.InvalidSession or RejectReason.UnknownVolunteer:
                        _view.Info("session lost; joining again");
                        _session = "";
                        break;
                    // coordinator-storage: a lease could not be made durable (RequestWork); ask again after a backoff, not at once.
                    case RejectReason.RateLimited or RejectReason.Unavailable or RejectReason.CoordinatorStorage:
                        await DelayAsync(AtLeastAdvised(_backoff.Next(attempt++), e), ct);
                        break;
                    default:
                        UnitsRejected++;
                        _view.Rejected(reason, e.Status.Detail);
                        break;
                }
            }
            catch (Exception e) when (e is ProtocolException or InvalidDataException or PayloadFormatException)
            {
                // The coordinator (or the network) handed us bad parameters: drop this unit and ask again later.
                var wait = _backoff.Next(attempt++);
                _view.Error($"{e.Message}; retrying in {wait.TotalSeconds:0.0} s");
                await DelayAsync(wait, ct);
            }
            catch (NonFiniteLossException e)
            {
                // Training diverged on this unit (e.g. a learning rate too high for this shard): nothing to send.
                _view.Error($"{e.Message}; the unit is dropped and its lease will be reissued");
                await DelayAsync(_backoff.Next(attempt++), ct);
            }
            catch (RpcException e) when (Backoff.IsTransient(e.StatusCode))
            {
                var wait = _backoff.Next(attempt++);
                _view.Info($"coordinator unreachable ({e.StatusCode}); retrying in {wait.TotalSeconds:0.0} s");
                _session = e.StatusCode == StatusCode.Unavailable ? _session : "";
                await DelayAsync(wait, ct);
            }
        }
        await LeaveAsync();
        return ExitCodes.Ok;
    }

    private async Task JoinAsync(CancellationToken ct)
    {
        var challenge = await _client.GetChallengeAsync(new ChallengeRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            PublicKey = ByteString.CopyFrom(_identity.PublicKey),
        }, deadline: Deadline(), cancellationToken: ct);
        byte[] signature = JoinChallenge.Sign(_identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, (ulong)_options.MemoryBytes, _options.Device, _options.AdmissionToken);
        var reply = await _client.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            PublicKey = ByteString.CopyFrom(_identity.PublicKey),
            Nonce = challenge.Nonce,
            Signature = ByteString.CopyFrom(signature),
            DeclaredMemoryBytes = (ulong)_options.MemoryBytes,
            Device = _options.Device,
            AdmissionToken = _options.AdmissionToken,
            ClientName = "hivemind-volunteer/1 (.NET)",
            RunId = challenge.RunId,
        }, deadline: Deadline(), cancellationToken: ct);
        _session = reply.SessionToken;
        _heartbeat = TimeSpan.FromMilliseconds(Math.Max(100, reply.HeartbeatIntervalMs));
        _view.Joined(reply.VolunteerId);
        await LearnCoordinatorKeyAsync(ct);
        if (_relay is not null) await _relay.RegisterAsync(_session, _view, ct);
    }

    /// <summary>Trust on first use when no key is pinned: the key that signs the ledger's head at the first join.</summary>
    private async Task LearnCoordinatorKeyAsync(CancellationToken ct)
    {
        if (_coordinatorKey is not null || _ledger is null) return;
        try
        {
            var head = await _ledger.GetTreeHeadAsync(new TreeHeadRequest { ProtocolVersion = ProtocolVersion.Current }, deadline: Deadline(), cancellationToken: ct);
            _coordinatorKey = head.PublicKey.ToByteArray();
            _view.Info($"coordinator ledger key {Convert.ToHexString(_coordinatorKey).ToLowerInvariant()} (learned at join; pin it with --coordinator-key)");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            _view.Info("this coordinator has no public ledger; acknowledgements cannot be checked against one");
        }
    }

    /// <summary>Checks the acknowledgement's ledger receipt; a failure is logged loudly, never silently accepted.</summary>
    private void CheckReceipt(SubmitReply reply, PooledUpdate update)
    {
        if (_coordinatorKey is null && reply.LedgerTreeHead is { } first)
        {
            _coordinatorKey = first.PublicKey.ToByteArray();
            _view.Info($"coordinator ledger key {Convert.ToHexString(_coordinatorKey).ToLowerInvariant()} (learned from the first receipt; pin it with --coordinator-key)");
        }
        string? problem = _coordinatorKey is null
            ? "no coordinator key is known to check the receipt against (pin one with --coordinator-key)"
            : LedgerReceiptCheck.Verify(reply, update.Envelope.Bytes, _coordinatorKey);
        if (problem is null)
        {
            ReceiptsVerified++;
            return;
        }
        ReceiptsFailed++;
        _view.Error($"LEDGER RECEIPT FAILED for update {reply.UpdateId}: {problem}. The coordinator acknowledged the update but does not prove it logged it; keep this output and report it.");
    }

    private async Task WorkOnceAsync(CancellationToken ct)
    {
        var reply = await _client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = _session, Eager = _options.Eager && _lastAccepted is not null },
            deadline: Deadline(), cancellationToken: ct);
        if (reply.ResultCase == WorkReply.ResultOneofCase.NoWork)
        {
            _view.Waiting(reply.NoWork.Reason);
            await DelayAsync(TimeSpan.FromMilliseconds(Math.Max(50, reply.NoWork.RetryAfterMs)), ct);
            return;
        }
        var wire = reply.WorkUnit;
        if (_refused.Contains(wire.WorkUnitId))
        {
            // A coordinator that hands a refused unit back (older ones keep its lease live): retraining it gives the same bytes (same
            // shard, version and data slice) and the same refusal, so wait for the lease to lapse, asking again with backoff.
            var wait = _backoff.Next(_handedBack++);
            _view.Waiting($"the coordinator handed back unit {wire.WorkUnitId}, whose update it refused; not retraining it, asking again in {wait.TotalSeconds:0.0} s");
            await DelayAsync(wait, ct);
            return;
        }
        _handedBack = 0;
        var unit = ToSpec(wire);
        _view.UnitStarted(unit);
        var parameters = EagerStart(unit, await DownloadAsync(wire, reply.Relays, ct));
        Func<string, string>? fileForHash = null;
        if (unit.Data.Kind == DataKind.TokenSlice)
        {
            var watch = Stopwatch.StartNew();
            var (path, bytes, source) = await _data.FetchAsync(unit.Data, _session, ct);
            _view.Transfer(bytes == 0 ? "data (cached)" : $"data from the {source}", bytes, watch.Elapsed);
            fileForHash = _ => path;
        }

        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progress = new LastProgress();
        var heartbeats = HeartbeatLoopAsync(wire.WorkUnitId, progress, heartbeatStop.Token);
        PooledUpdate trained;
        try
        {
            var reporter = new Progress<TrainingProgress>(p =>
            {
                progress.Value = p;
                _view.Step(p);
            });
            // One dedicated thread for the whole unit: TorchSharp dispose scopes are thread-static.
            var feedback = unit.CodecSettings.UsesFeedback ? Feedback() : null;
            trained = await Task.Factory.StartNew(
                () => WorkUnitRunner.RunPooled(unit, parameters, _identity, _payloads, _options.Behavior, reporter, ct, fileForHash, feedback),
                ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (feedback is not null) SaveFeedback(feedback);
        }
        finally
        {
            await heartbeatStop.CancelAsync();
            await heartbeats;
        }
        // The upload's own lease covers every resend; trained's passes to _previous, which drops the one it held.
        using var toSend = (_options.Behavior == Behavior.Replay && _previous is not null ? _previous : trained).Share();
        _previous?.Dispose();
        _previous = trained;
        _lastAccepted?.Payload.Dispose();
        _lastAccepted = null;
        try
        {
            await SubmitAsync(toSend, ct, unit.BaseUnitId is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(wire.DeadlineUnixMs));
        }
        catch (RpcException e) when (RejectReasons.TryGetReason(e, out _) && !IsWorthResubmitting(e, out _))
        {
            RememberRefused(unit.Id);
            throw;
        }
        _lastAccepted = (unit.Id, toSend.Payload.Share());
        UnitsSubmitted++;
    }

    /// <summary>Remembers a unit whose update was refused for good, forgetting the oldest beyond <see cref="RefusedUnitsRemembered"/>.</summary>
    private void RememberRefused(string unitId)
    {
        if (!_refused.Add(unitId)) return;
        _refusedOrder.Enqueue(unitId);
        while (_refusedOrder.Count > RefusedUnitsRemembered) _refused.Remove(_refusedOrder.Dequeue());
    }

    /// <summary>Refused unit ids kept (unit ids are unique per lease, so a few rounds' worth is enough).</summary>
    public const int RefusedUnitsRemembered = 64;

    /// <summary>
    /// An eager unit's start (issue 16): the downloaded version minus this volunteer's own accepted update that the unit names, by the
    /// same function the coordinator's spot checks use; any other unit starts from the download itself.
    /// </summary>
    private ParameterSet EagerStart(UnitSpec unit, ParameterSet version)
    {
        if (unit.BaseUnitId is null) return version;
        if (_lastAccepted is not { } last || last.UnitId != unit.BaseUnitId)
            throw new InvalidDataException($"eager unit {unit.Id} starts from this volunteer's update to {unit.BaseUnitId}, which it does not hold (its last accepted unit is {_lastAccepted?.UnitId ?? "none"}); the unit is dropped.");
        return EagerBase.Apply(version, TensorCodec.Decode(last.Payload.Bytes, last.Payload.Length).Tensors);
    }

    /// <summary>From the disk cache, else from a listed relay (verified against the unit's hash), else from the coordinator; a relay (--relay) then serves it too.</summary>
    private async Task<ParameterSet> DownloadAsync(Protocol.V1.WorkUnit unit, IReadOnlyList<string> relays, CancellationToken ct)
    {
        string hash = Convert.ToHexStringLower(unit.ParametersSha256.Span);
        var shard = ToSpec(unit).Shard;
        var cached = ParameterDiskCache.TryLoadBytes(_options.CacheDirectory, hash);
        if (cached is not null)
        {
            _view.Transfer("download (cached)", 0, TimeSpan.Zero);
            _relay?.Server.Holdings.Hold(unit.ModelVersion, unit.ParametersSha256.Span, cached);
            return Hold((long)unit.ModelVersion, shard, TensorCodec.Decode(cached, cached.LongLength).Tensors);
        }
        _relay?.Server.Holdings.Expect(unit.ModelVersion, unit.ParametersSha256.Span);
        try
        {
            var (buffer, isTheUnits, parameters) = await DownloadBytesAsync(unit, relays, shard, ct);
            // A relay passes on only bytes with the hash the coordinator put in the unit.
            if (isTheUnits) _relay?.Server.Holdings.Hold(unit.ModelVersion, unit.ParametersSha256.Span, buffer);
            else _relay?.Server.Holdings.Abandon(unit.ModelVersion, unit.ParametersSha256.Span);
            return Hold((long)unit.ModelVersion, shard, parameters);
        }
        catch
        {
            _relay?.Server.Holdings.Abandon(unit.ModelVersion, unit.ParametersSha256.Span);
            throw;
        }
    }

    /// <summary>
    /// The full fp32 payload, whether it has exactly the unit's SHA-256 (a relay's bytes always do: they are checked against it; the
    /// coordinator's are checked against its metadata; steps applied to the held version are checked against the unit's hash), and the
    /// decoded parameters.
    /// </summary>
    private async Task<(byte[] Payload, bool IsTheUnits, ParameterSet Parameters)> DownloadBytesAsync(Protocol.V1.WorkUnit unit, IReadOnlyList<string> relays,
        ShardSpec shard, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        // Version 0 is θ_0 itself: a volunteer that rebuilds it from the seed and finds the unit's hash downloads nothing (issue 16).
        if (unit.ModelVersion == 0 && SeedVersion0(unit, shard) is { } initial)
        {
            byte[] fp32 = TensorCodec.Encode(initial.Parameters, PayloadCodec.Fp32);
            if (IsTheUnits(fp32, unit))
            {
                _view.Transfer("download (θ_0 from the seed)", 0, watch.Elapsed);
                ParameterDiskCache.Store(_options.CacheDirectory, Convert.ToHexStringLower(unit.ParametersSha256.Span), fp32);
                return (fp32, true, initial.Parameters);
            }
            SeedRefused(unit, "θ_0 rebuilt from the seed");
        }
        bool wholeFromRelays = true;
        if (relays.Count > 0 && _relayFetcher is not null && _relayRegistry is not null && unit.ParametersSha256.Length == System.Security.Cryptography.SHA256.HashSizeInBytes)
        {
            var (chunked, supported) = await TryChunkedAsync(unit, relays, watch, ct);
            if (chunked is not null) return (chunked, true, TensorCodec.Decode(chunked, chunked.LongLength).Tensors);
            wholeFromRelays = !supported;
            watch.Restart();
        }
        if (wholeFromRelays && relays.Count > 0 && _relayFetcher is not null && unit.ParametersSha256.Length == System.Security.Cryptography.SHA256.HashSizeInBytes)
        {
            var outcome = await _relayFetcher.FetchAsync(relays, unit.ModelVersion, unit.ParametersSha256.Memory, ct);
            foreach (var fault in outcome.Faults) _view.Info($"{fault}; trying the next source");
            if (outcome.Payload is { } fromRelay)
            {
                _view.Transfer($"download from relay {outcome.Relay}", fromRelay.Length, watch.Elapsed);
                ParameterDiskCache.Store(_options.CacheDirectory, Convert.ToHexStringLower(unit.ParametersSha256.Span), fromRelay);
                return (fromRelay, true, TensorCodec.Decode(fromRelay, fromRelay.LongLength).Tensors);
            }
            watch.Restart();
        }
        // Small downloads: offer the held version, else θ_0 rebuilt from the seed (version 0, issue 16).
        var held = _held is { } h && h.Version < (long)unit.ModelVersion ? h : SeedVersion0(unit, shard);
        try
        {
            return await FromCoordinatorAsync(unit, shard, held, watch, ct);
        }
        catch (SeedMismatchException)
        {
            SeedRefused(unit, $"θ_0 rebuilt from the seed plus the steps to version {unit.ModelVersion}");
            watch.Restart();
            return await FromCoordinatorAsync(unit, shard, null, watch, ct);
        }
    }

    /// <summary>
    /// θ_0 of this shard rebuilt from the unit's init_seed, as a held version 0 not yet trusted: its use must end in the unit's hash.
    /// Null when the coordinator sends no seed, or the seed once failed that check (this volunteer then downloads in full).
    /// </summary>
    private HeldParameters? SeedVersion0(Protocol.V1.WorkUnit unit, ShardSpec shard)
    {
        if (!unit.HasInitSeed || _seedRefused) return null;
        var model = ToSpec(unit).Model;
        return new HeldParameters(0, shard, ModelInit.Initialize(model, unchecked((long)unit.InitSeed), shard), FromSeed: true);
    }

    /// <summary>Says once that θ_0 from the seed did not give the unit's parameters, and stops offering it: every later first download is full.</summary>
    private void SeedRefused(Protocol.V1.WorkUnit unit, string what)
    {
        if (_seedRefused) return;
        _seedRefused = true;
        _view.Info($"{what} is not version {unit.ModelVersion}'s parameters (SHA-256 differs from the unit's parameters_sha256); nothing of it was kept, " +
            "this and every later first download is the full shard");
    }

    /// <summary>The shard from the coordinator: the steps from <paramref name="held"/> when the coordinator sends them, else in full.</summary>
    private async Task<(byte[] Payload, bool IsTheUnits, ParameterSet Parameters)> FromCoordinatorAsync(Protocol.V1.WorkUnit unit, ShardSpec shard,
        HeldParameters? held, Stopwatch watch, CancellationToken ct)
    {
        var request = new DownloadRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            SessionToken = _session,
            ModelVersion = unit.ModelVersion,
            WorkUnitId = unit.WorkUnitId,
        };
        // A full download may come compressed, losslessly (issue 16); it decodes to the same fp32 bytes.
        request.AcceptedFullCodecs.Add(Codec.Fp32ShuffleZstd);
        // Small downloads: offer the held version and experts; the coordinator may answer with steps (plus the tensors not held).
        if (held is not null)
        {
            request.HeldVersion = (ulong)held.Version;
            request.HeldExperts.AddRange(held.Shard.Experts.Select(e => new ExpertRef { Layer = (uint)e.Layer, Expert = (uint)e.Expert }));
        }
        using var call = _client.DownloadParameters(request, cancellationToken: ct);
        // Metadata first, announced size within our limit, every byte accounted for, SHA-256 checked.
        var (metadata, buffer) = await DownloadStream.ReadAsync(call.ResponseStream, ProtocolLimits.Default, ct);
        if (metadata.StepCount == 0 && metadata.Codec == Codec.Fp32ShuffleZstd)
        {
            byte[] fp32 = Decompressed(buffer, unit);
            _view.Transfer("download (compressed)", buffer.Length, watch.Elapsed);
            ParameterDiskCache.Store(_options.CacheDirectory, Convert.ToHexStringLower(unit.ParametersSha256.Span), fp32);
            return (fp32, true, TensorCodec.Decode(fp32, fp32.LongLength).Tensors);
        }
        if (metadata.StepCount == 0)
        {
            _view.Transfer("download", buffer.Length, watch.Elapsed);
            ParameterDiskCache.Store(_options.CacheDirectory, Convert.ToHexStringLower(metadata.ContentSha256.Span), buffer);
            return (buffer, metadata.ContentSha256.Span.SequenceEqual(unit.ParametersSha256.Span), TensorCodec.Decode(buffer, buffer.LongLength).Tensors);
        }
        _view.Transfer($"download ({metadata.StepCount} steps)", buffer.Length, watch.Elapsed);
        var parameters = StepsOnto(held, metadata, buffer, shard, unit.ModelVersion);
        byte[] full = TensorCodec.Encode(parameters, PayloadCodec.Fp32);
        if (!IsTheUnits(full, unit))
        {
            if (held!.FromSeed) throw new SeedMismatchException();
            _held = null; // the next unit downloads the full shard
            throw new InvalidDataException($"the parameters after applying {metadata.StepCount} steps to version {held!.Version} differ from version {unit.ModelVersion}'s hash; the next download is the full shard.");
        }
        ParameterDiskCache.Store(_options.CacheDirectory, Convert.ToHexStringLower(unit.ParametersSha256.Span), full);
        return (full, true, parameters);
    }

    /// <summary>Whether <paramref name="fp32"/> is exactly the unit's parameters (their SHA-256 is the work reply's parameters_sha256).</summary>
    private static bool IsTheUnits(byte[] fp32, Protocol.V1.WorkUnit unit) =>
        System.Security.Cryptography.SHA256.HashData(fp32).AsSpan().SequenceEqual(unit.ParametersSha256.Span);

    /// <summary>
    /// The fp32 payload of a compressed full download, accepted only when its SHA-256 is the unit's parameters_sha256: the stream's
    /// content_sha256 travels with the bytes it covers, the unit's hash came in the work reply. Throws (nothing cached or held) otherwise.
    /// </summary>
    private static byte[] Decompressed(byte[] compressed, Protocol.V1.WorkUnit unit)
    {
        byte[] fp32;
        try
        {
            fp32 = Fp32ShuffleZstd.Decode(compressed, ProtocolLimits.Default.MaxDownloadBytes);
        }
        catch (PayloadFormatException e)
        {
            throw new InvalidDataException($"the compressed download of version {unit.ModelVersion} does not decode ({e.Message}); nothing was kept, the unit is asked for again.", e);
        }
        if (!IsTheUnits(fp32, unit))
            throw new InvalidDataException($"the compressed download of version {unit.ModelVersion} decodes to parameters whose SHA-256 is not the unit's parameters_sha256 {Convert.ToHexStringLower(unit.ParametersSha256.Span)}; nothing was kept, the unit is asked for again.");
        return fp32;
    }

    /// <summary>
    /// Chunks from the offered relays in parallel, against the coordinator's signed manifest (relay.proto); null when this coordinator
    /// has no manifests (an older one: <c>Supported</c> false, so the whole-payload relay path is tried), or when the chunked download
    /// failed (logged; the caller downloads from the coordinator in full). Lying relays are reported; the verdicts are logged.
    /// </summary>
    private async Task<(byte[]? Payload, bool Supported)> TryChunkedAsync(Protocol.V1.WorkUnit unit, IReadOnlyList<string> relays, Stopwatch watch, CancellationToken ct)
    {
        ChunkedFetchOutcome outcome;
        try
        {
            outcome = await _relayFetcher!.FetchChunkedAsync(_relayRegistry!, _session, unit, relays, _coordinatorKey, ct);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            return (null, false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException || (e is RpcException && !ct.IsCancellationRequested))
        {
            _view.Info($"chunked download from relays failed ({e.Message}); downloading from the coordinator in full");
            return (null, true);
        }
        foreach (var fault in outcome.Faults) _view.Info(fault);
        foreach (var report in outcome.Reports) _view.Info(report);
        var from = string.Join(", ", outcome.BytesFromRelays.Where(r => r.Value > 0).Select(r => r.Key).Order(StringComparer.Ordinal));
        _view.Transfer(outcome.BytesFromRelays.Values.Sum() == 0 ? "download (chunks from the coordinator)"
            : $"download from relays {from}{(outcome.BytesFromCoordinator > 0 ? $" and the coordinator ({outcome.BytesFromCoordinator} B)" : "")}",
            outcome.Payload.Length, watch.Elapsed);
        ParameterDiskCache.Store(_options.CacheDirectory, Convert.ToHexStringLower(unit.ParametersSha256.Span), outcome.Payload);
        return (outcome.Payload, true);
    }

    /// <summary>The held parameters of this shard's tensors plus the downloaded steps; the held copy itself is left unchanged.</summary>
    private static ParameterSet StepsOnto(HeldParameters? held, ParameterMetadata metadata, byte[] steps, ShardSpec shard, ulong version)
    {
        if (held is null || metadata.BaseVersion != (ulong)held.Version || metadata.BaseVersion + metadata.StepCount != version)
            throw new InvalidDataException($"the coordinator sent {metadata.StepCount} steps from version {metadata.BaseVersion} to {version}; this volunteer holds {(held is null ? "no version" : $"version {held.Version}")}.");
        var parameters = new ParameterSet(held.Parameters.Where(t => shard.Holds(t.Name)).Select(t => t.Clone()));
        long end = ParameterSteps.ApplyAll(parameters, steps, (int)metadata.StepCount, ProtocolLimits.Default.MaxDownloadBytes, allowTrailing: true);
        // The shard's tensors this volunteer did not hold follow the steps in full.
        if (end < steps.Length)
        {
            foreach (var t in TensorCodec.Decode(steps[(int)end..], ProtocolLimits.Default.MaxDownloadBytes).Tensors)
            {
                if (!shard.Holds(t.Name) || parameters.Contains(t.Name))
                    throw new InvalidDataException($"the download's full tensors include '{t.Name}', which is held already or not in the shard.");
                parameters.Add(t);
            }
        }
        return parameters;
    }

    private ParameterSet Hold(long version, ShardSpec shard, ParameterSet parameters)
    {
        _held = new HeldParameters(version, shard, parameters);
        return parameters;
    }

    /// <summary>The residual of earlier sparse updates: from memory, else from the cache directory, else empty.</summary>
    private ErrorFeedback Feedback()
    {
        if (_feedback is not null) return _feedback;
        string path = Path.Combine(_options.CacheDirectory, ResidualFile);
        try
        {
            _feedback = File.Exists(path) ? ErrorFeedback.Load(File.ReadAllBytes(path), ProtocolLimits.Default.MaxDownloadBytes) : new ErrorFeedback();
        }
        catch (Exception e) when (e is PayloadFormatException or IOException)
        {
            _view.Info($"the saved residual {path} is unreadable ({e.Message}); starting without one");
            _feedback = new ErrorFeedback();
        }
        return _feedback;
    }

    private void SaveFeedback(ErrorFeedback feedback)
    {
        Directory.CreateDirectory(_options.CacheDirectory);
        string path = Path.Combine(_options.CacheDirectory, ResidualFile);
        File.WriteAllBytes(path + ".tmp", feedback.Save());
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The exact fp32 parameters of the last shard this volunteer trained from, the base of small downloads.</summary>
    /// <param name="FromSeed">θ_0 rebuilt from the seed, not yet checked against any unit's hash (never held, cached or relayed).</param>
    private sealed record HeldParameters(long Version, ShardSpec Shard, ParameterSet Parameters, bool FromSeed = false);

    /// <summary>θ_0 rebuilt from the seed plus the coordinator's steps missed the unit's hash: the caller downloads the full shard instead.</summary>
    private sealed class SeedMismatchException : Exception;

    /// <summary>
    /// Uploads a trained update, keeping it across failures that are not its fault (the coordinator's storage, a busy or restarting
    /// coordinator, a broken or slow stream, a lost session): the same signed bytes are resent with backoff, which the coordinator
    /// treats as idempotent, instead of retraining the unit.
    /// </summary>
    /// <param name="eagerUntil">For an eager unit, its lease deadline: until then a "round not open yet" answer is waited out, not counted as a failed attempt.</param>
    private async Task SubmitAsync(PooledUpdate update, CancellationToken ct, DateTimeOffset? eagerUntil = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await SubmitOnceAsync(update, ct);
                return;
            }
            catch (RpcException e) when (eagerUntil is { } until && _time.GetUtcNow() < until && !ct.IsCancellationRequested
                                         && RejectReasons.TryGetReason(e, out var reason) && reason == RejectReason.Unavailable)
            {
                // An eager unit finished before its round opened: the coordinator advises when to resend.
                await DelayAsync(AtLeastAdvised(EagerResendInterval, e), ct);
                attempt--;
            }
            catch (RpcException e) when (attempt + 1 < MaxSubmitAttempts && !ct.IsCancellationRequested && IsWorthResubmitting(e, out bool rejoin))
            {
                var wait = AtLeastAdvised(_backoff.Next(attempt), e);
                _view.Info($"submit failed ({(RejectReasons.TryGetReason(e, out var r) ? r.Token() : e.StatusCode.ToString())}); keeping the update and resending in {wait.TotalSeconds:0.0} s");
                await DelayAsync(wait, ct);
                if (rejoin) await JoinAsync(ct);
            }
        }
    }

    /// <summary>Never sooner than the coordinator advised (the <c>hivemind-retry-after-ms</c> trailer of an overloaded coordinator).</summary>
    /// Capped at <see cref="MaxAdvisedWait"/>, so a wrong trailer cannot park the volunteer.
    private static TimeSpan AtLeastAdvised(TimeSpan backoff, RpcException e) =>
        RejectReasons.RetryAfter(e) is { } advised && advised > backoff ? (advised < MaxAdvisedWait ? advised : MaxAdvisedWait) : backoff;

    /// <summary>Longest wait a coordinator's retry advice can impose.</summary>
    public static readonly TimeSpan MaxAdvisedWait = TimeSpan.FromMinutes(5);

    /// <summary>Least wait between resends of an eager update whose round has not opened yet.</summary>
    public static readonly TimeSpan EagerResendInterval = TimeSpan.FromSeconds(1);

    /// <summary>Submit attempts for one trained update before it is given up.</summary>
    public const int MaxSubmitAttempts = 8;

    private static bool IsWorthResubmitting(RpcException e, out bool rejoin)
    {
        rejoin = false;
        if (!RejectReasons.TryGetReason(e, out var reason)) return Backoff.IsTransient(e.StatusCode);
        switch (reason)
        {
            case RejectReason.InvalidSession or RejectReason.UnknownVolunteer:
                rejoin = true;
                return true;
            case RejectReason.CoordinatorStorage or RejectReason.Unavailable or RejectReason.SubmitInProgress or RejectReason.TooSlow
                or RejectReason.TruncatedStream or RejectReason.HashMismatch or RejectReason.RateLimited:
                return true;
            default:
                return false;
        }
    }

    private async Task SubmitOnceAsync(PooledUpdate update, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        using var call = _client.SubmitUpdate(deadline: DateTime.UtcNow + SubmitTimeout, cancellationToken: ct);
        // The coordinator may answer before reading the whole stream (a rejection, or the reply to an update it already has).
        var reply = await UpdateStream.SendAsync(call, UpdateStream.Messages(_session, update.Envelope, update.Payload.Bytes));
        _view.Transfer("upload", update.Payload.Length, watch.Elapsed);
        _view.Submitted(reply.UpdateId, update.MeanLoss);
        CheckReceipt(reply, update);
    }

    /// <summary>Deadline of one upload attempt (streams are bounded in time too).</summary>
    public static readonly TimeSpan SubmitTimeout = TimeSpan.FromMinutes(30);

    private async Task HeartbeatLoopAsync(string workUnitId, LastProgress progress, CancellationToken ct)
    {
        var interval = _heartbeat;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(interval, _time, ct);
                var p = progress.Value;
                var reply = await _client.HeartbeatAsync(new HeartbeatRequest
                {
                    ProtocolVersion = ProtocolVersion.Current,
                    SessionToken = _session,
                    WorkUnitId = workUnitId,
                    InnerStep = (uint)(p?.Step ?? 0),
                    Loss = p?.Loss ?? 0,
                }, deadline: Deadline(), cancellationToken: ct);
                if (!reply.LeaseValid) _view.Info($"the lease on {workUnitId} is no longer valid; the update will likely be rejected");
            }
        }
        catch (OperationCanceledException)
        {
            // Training finished or the volunteer is stopping.
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
            // Same.
        }
        catch (RpcException e)
        {
            _view.Info($"heartbeat failed ({e.Status.Detail}); training continues");
        }
    }

    private async Task LeaveAsync()
    {
        if (_session.Length == 0) return;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _client.LeaveAsync(new LeaveRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = _session }, cancellationToken: cts.Token);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // Leaving is a courtesy; the lease expires on its own.
        }
    }

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    private Task DelayAsync(TimeSpan wait, CancellationToken ct) => Task.Delay(wait, _time, ct);

    /// <summary>Turns a wire work unit into the transport-free spec the runner trains.</summary>
    public static UnitSpec ToSpec(Protocol.V1.WorkUnit w)
    {
        var model = JsonSerializer.Deserialize<ModelConfig>(w.ModelConfigJson) ?? ModelConfig.Preset(w.ModelPreset);
        model.Validate();
        var shard = new ShardSpec(w.Shard.Experts.Select(e => new ExpertId((int)e.Layer, (int)e.Expert)).ToList());
        var data = DataSliceWire.FromWire(w.Data);
        if (data.Kind == DataKind.TokenSlice && data.VocabSize != model.VocabSize)
            throw new InvalidDataException($"the work unit's data has ids below {data.VocabSize} but its model has VocabSize {model.VocabSize}; the coordinator is misconfigured.");
        var h = w.Hyperparameters;
        var training = new LocalTrainingOptions((int)h.InnerSteps, (int)h.BatchSize, (int)h.SequenceLength, h.LearningRate, h.WeightDecay,
            (int)h.WarmupSteps, h.ClipNorm, (long)h.Seed);
        PayloadCodec codec;
        try
        {
            codec = ProtoMapping.FromProto(w.Codec);
        }
        catch (ArgumentException)
        {
            throw new InvalidDataException($"the work unit names codec {w.Codec}, which this volunteer does not know; upgrade the volunteer.");
        }
        bool sparse = CodecSettings.IsSparse(codec);
        if (sparse ? w.KeptPerBlock is < 1 or > SparseBlockCodec.MaxKeptPerBlock : w.KeptPerBlock != 0)
            throw new InvalidDataException($"the work unit's kept_per_block {w.KeptPerBlock} does not fit codec {codec} (top-k codecs keep 1..{SparseBlockCodec.MaxKeptPerBlock}, dense ones 0).");
        if (w.EagerBaseUnitId.Length > 0 && w.Round != w.ModelVersion + 1)
            throw new InvalidDataException($"eager unit {w.WorkUnitId} is for round {w.Round} at version {w.ModelVersion}; an eager unit's round is its version + 1.");
        return new UnitSpec(w.WorkUnitId, (long)w.Round, (long)w.ModelVersion, model, shard, data, training, codec)
        {
            RunId = w.RunId.ToByteArray(), KeptPerBlock = (int)w.KeptPerBlock, BaseUnitId = w.EagerBaseUnitId.Length > 0 ? w.EagerBaseUnitId : null,
        };
    }

    private sealed class LastProgress
    {
        public TrainingProgress? Value { get; set; }
    }
}
