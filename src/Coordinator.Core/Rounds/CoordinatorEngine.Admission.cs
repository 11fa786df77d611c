using System.Security.Cryptography;
using System.Text;
using Hivemind.Coordinator.Ledger;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Admission: challenges, joins (limits charged after verification, per source), sessions.</summary>
public sealed partial class CoordinatorEngine
{
    public (byte[] Nonce, DateTimeOffset Expires) IssueChallenge(byte[] publicKey)
    {
        if (publicKey.Length != VolunteerIdentity.PublicKeyBytes)
            throw new ProtocolException(RejectReason.MalformedRequest, $"public_key has {publicKey.Length} bytes; an Ed25519 key has {VolunteerIdentity.PublicKeyBytes}");
        return _challenges.Issue(publicKey);
    }

    /// <summary>
    /// Admits a volunteer that signed a fresh challenge; returns its id and a new session token (its previous session ends).
    /// Synchronous form of <see cref="JoinAsync"/> for in-process callers (simulator, tests); the wait is on the commit writer, not the store.
    /// </summary>
    public (string VolunteerId, string SessionToken) Join(uint protocolVersion, byte[] publicKey, byte[] nonce, byte[] signature, ulong memoryBytes, string device,
        string admissionToken, string source = "", string clientName = "", byte[]? runId = null) =>
        JoinAsync(protocolVersion, publicKey, nonce, signature, memoryBytes, device, admissionToken, source, clientName, runId).GetAwaiter().GetResult();

    /// <summary>
    /// Admits a volunteer that signed a fresh challenge; returns its id and a new session token (its previous session ends).
    /// Every check that needs no secret comes first; the join limit of <paramref name="source"/> is charged only once the admission
    /// token and the signature verified, so junk joins cost nobody anything. The signature is always checked over this run's id;
    /// <paramref name="runId"/> is the id the client says it signed (null from in-process callers), compared first for a clear <c>wrong-run</c>.
    /// The join's store write and ledger entry are group-committed with the joins queued beside it (one fsync for the batch) and the
    /// task completes only once they are durable; when <see cref="CoordinatorOptions.MaxPendingJoins"/> joins already wait, a verified
    /// join is answered <c>unavailable</c> at once with retry advice, before anything is charged or stored.
    /// </summary>
    public async Task<(string VolunteerId, string SessionToken)> JoinAsync(uint protocolVersion, byte[] publicKey, byte[] nonce, byte[] signature, ulong memoryBytes,
        string device, string admissionToken, string source = "", string clientName = "", byte[]? runId = null)
    {
        ProtocolVersion.Require(protocolVersion);
        if (runId is not null && !runId.AsSpan().SequenceEqual(RunId))
            throw Reject(RejectReason.WrongRun, $"the join names run {Protocol.Identity.RunId.Format(runId)}{(runId.Length == 0 ? " (empty)" : "")}; this coordinator's run is {Protocol.Identity.RunId.Format(RunId)}");
        if (publicKey.Length != VolunteerIdentity.PublicKeyBytes)
            throw Reject(RejectReason.MalformedRequest, $"public_key has {publicKey.Length} bytes; an Ed25519 key has {VolunteerIdentity.PublicKeyBytes}");
        var limits = ProtocolLimits.Default;
        if (device.Length > limits.MaxDeviceLength)
            throw Reject(RejectReason.MalformedRequest, $"device has {device.Length} characters; at most {limits.MaxDeviceLength} are accepted (e.g. 'cpu', 'cuda:0')");
        if (clientName.Length > limits.MaxClientNameLength)
            throw Reject(RejectReason.MalformedRequest, $"client_name has {clientName.Length} characters; at most {limits.MaxClientNameLength} are accepted");
        if (_options.AdmissionToken.Length > 0 &&
            !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(admissionToken), Encoding.UTF8.GetBytes(_options.AdmissionToken)))
            throw Reject(RejectReason.BadAdmissionToken, "the admission token does not match");
        if (_challenges.Check(nonce, publicKey) is { } why)
            throw Reject(why.Contains("expired", StringComparison.Ordinal) ? RejectReason.ExpiredChallenge : RejectReason.BadChallenge, why);
        if (!JoinChallenge.Verify(signature, protocolVersion, RunId, publicKey, nonce, memoryBytes, device, admissionToken))
            throw Reject(RejectReason.BadSignature, "the join signature does not verify with the given public key");
        // Admission control: refuse now, with advice, rather than queue past the caller's deadline. Nothing is charged yet and the
        // nonce stays unused, so the same signed join may be sent again.
        if (!_joinCommits.TryReserve())
        {
            var advice = _joinCommits.RetryAdvice;
            throw new ProtocolException(RejectReason.Unavailable,
                $"{_joinCommits.Pending} joins are waiting for their durable commit (at most {_options.MaxPendingJoins}); retry in {advice.TotalSeconds:0.##} s", advice);
        }
        Task committed;
        string id = VolunteerIds.FromPublicKey(publicKey);
        string hash;
        string token;
        string cleanDevice = Sanitize(device, limits.MaxDeviceLength);
        bool queued = false;
        try
        {
            // Verified: from here on the join is charged to its source.
            if (!_joins.TryAcquire(source, out var retry))
                throw Reject(RejectReason.RateLimited, $"more than {_options.JoinsPerMinute} joins per minute from {Sanitize(source, 64)}; retry in {retry.TotalSeconds:0.#} s");
            if (_challenges.Full)
                throw Reject(RejectReason.RateLimited, "too many joins in the last two minutes; retry in a minute");
            if (_challenges.MarkUsed(nonce) is { } used)
                throw Reject(RejectReason.BadChallenge, used);
            var existing = _store.GetVolunteer(id);
            if (existing is { Banned: true })
                throw Reject(RejectReason.Banned, $"volunteer {id[..12]}… is banned ({existing.BanReason})");
            long memory = (long)Math.Min(memoryBytes, long.MaxValue);
            try
            {
                _planner.ExpertsPerLayerFor(memory);
            }
            catch (ArgumentException e)
            {
                throw Reject(RejectReason.MalformedRequest, e.Message);
            }
            long now = NowMs();
            // The session opens and the write queues in one step, so sessions and their rows reach the store in the same order.
            lock (_joinOrder)
            {
                (token, hash) = _sessions.Open(id);
                committed = _joinCommits.Enqueue(new PendingJoin(new VolunteerRecord(id, publicKey, cleanDevice, memory, now), hash, now));
            }
            queued = true;
        }
        finally
        {
            if (!queued) _joinCommits.Release();
        }
        try
        {
            await committed.ConfigureAwait(false);
        }
        catch
        {
            // Not durable, so not admitted: the new session must not outlive the failed commit.
            _sessions.RemoveIf(id, hash);
            throw;
        }
        NoteJoinSource(id, source);
        Log?.Invoke($"volunteer {id[..12]} joined ({cleanDevice}, {memoryBytes >> 20} MiB{(clientName.Length > 0 ? ", " + Sanitize(clientName, limits.MaxClientNameLength) : "")})");
        return (id, token);
    }

    /// <summary>Joins awaiting their group commit right now (admission control's queue).</summary>
    public int PendingJoins => _joinCommits.Pending;

    /// <summary>Durable transactions that committed joins, and the joins they committed, since start.</summary>
    public (long Batches, long Joins) JoinCommits => (_joinCommits.Batches, _joinCommits.Committed);

    /// <summary>Raised on the commit writer thread just before a batch of joins (its size given) is written; tests hold a commit open with it.</summary>
    public event Action<int>? JoinBatchCommitting;

    /// <summary>Writes a batch of joins (volunteer rows, sessions, ledger entries) in one transaction. Runs on the commit writer thread.</summary>
    private void CommitJoins(IReadOnlyList<PendingJoin> joins)
    {
        JoinBatchCommitting?.Invoke(joins.Count);
        _ledger.RecordAll(joins.Select(j => ((Action)(() => _store.Admit(j.Volunteer, j.TokenSha256, j.AtMs)), LedgerEntries.Join(j.Volunteer, j.AtMs))).ToList());
    }

    /// <summary>The volunteer behind a live session token, or an InvalidSession / Banned rejection.</summary>
    public VolunteerRecord Authenticate(string sessionToken)
    {
        string? id = _sessions.Authenticate(sessionToken, HoldsLiveLease);
        if (id is null) throw Reject(RejectReason.InvalidSession, $"the session token is unknown or expired (sessions end after {SilentIntervalsToExpire} silent heartbeat intervals, on a new join with the same key, or when the coordinator is reset)");
        var v = _store.GetVolunteer(id) ?? throw Reject(RejectReason.UnknownVolunteer, $"volunteer {id} is not registered");
        if (v.Banned) throw Reject(RejectReason.Banned, $"volunteer {id[..12]}… is banned ({v.BanReason})");
        return v;
    }

    public void Leave(string sessionToken)
    {
        var v = Authenticate(sessionToken);
        lock (_gate)
        {
            Retire(v.Id, "volunteer left");
        }
        _sessions.Remove(v.Id);
        _store.RemoveSessions(v.Id);
    }

    /// <summary>
    /// Read without the engine's lock (from <see cref="_liveLeases"/>): every call's authentication asks this for a silent session, and
    /// under load the engine's lock is held across durable commits; authentication must not queue behind them.
    /// </summary>
    private bool HoldsLiveLease(string volunteerId)
    {
        long now = NowMs();
        foreach (var l in _liveLeases.Values)
            if (l.VolunteerId == volunteerId && l.DeadlineMs >= now) return true;
        return false;
    }

    /// <summary>Records a lease's new state in <see cref="_leases"/> and its lock-free mirror of live leases. Caller holds the lock.</summary>
    private void SetLease(WorkUnitRecord lease)
    {
        _leases[lease.Id] = lease;
        if (lease.State == "leased") _liveLeases[lease.Id] = lease;
        else _liveLeases.TryRemove(lease.Id, out _);
    }

    /// <summary>Forgets a lease (older than the staleness window). Caller holds the lock.</summary>
    private void RemoveLease(string id)
    {
        _leases.Remove(id);
        _liveLeases.TryRemove(id, out _);
    }

    /// <summary>Free text from a volunteer, safe for the store and the log: control characters (newlines, escapes) become '?', length is capped.</summary>
    public static string Sanitize(string text, int maxLength)
    {
        var sb = new StringBuilder(Math.Min(text.Length, maxLength));
        foreach (char c in text.AsSpan(0, Math.Min(text.Length, maxLength)))
            sb.Append(char.IsControl(c) || char.IsSurrogate(c) ? '?' : c);
        return sb.ToString();
    }
}
