using Hivemind.Coordinator.Reputation;
using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Submissions: envelope checks before any payload byte, idempotence and equivocation, payload checks, the durable ledger.</summary>
public sealed partial class CoordinatorEngine
{
    /// <summary>
    /// Checks a submission's envelope before any payload byte is read: decodes it, checks the key is registered, not banned and the
    /// session's, verifies the signature, then (under the lock) the lease, idempotence, round, version, shard, codec, the token count
    /// (the weight is the unit's, never the volunteer's), a finite mean loss, and that the declared payload length is exactly the one a
    /// payload of the leased shard has. Reserves the unit's single in-flight slot and the payload's share of
    /// <see cref="CoordinatorOptions.MaxReceivingBytes"/>. Rejections are counted; attributable ones cost reputation.
    /// </summary>
    public SubmitTicket BeginSubmit(byte[] envelopeBytes, byte[] signature, string? sessionVolunteerId)
    {
        try
        {
            var envelope = ParseEnvelope(envelopeBytes);
            ProtocolVersion.Require(envelope.ProtocolVersion);
            if (!envelope.RunId.AsSpan().SequenceEqual(RunId))
                throw Reject(RejectReason.WrongRun, $"the envelope is signed for run {Protocol.Identity.RunId.Format(envelope.RunId)}; this coordinator's run is {Protocol.Identity.RunId.Format(RunId)}");
            string volunteerId = VolunteerIds.FromPublicKey(envelope.VolunteerKey);
            var volunteer = _store.GetVolunteer(volunteerId) ?? throw Reject(RejectReason.UnknownVolunteer, $"volunteer {volunteerId} never joined");
            if (volunteer.Banned) throw Reject(RejectReason.Banned, $"volunteer {volunteerId[..12]}… is banned ({volunteer.BanReason})");
            if (sessionVolunteerId is { } sessionId && sessionId != volunteerId)
                throw Reject(RejectReason.VolunteerMismatch, "the envelope's key is not the key this session joined with");
            if (!EnvelopeSigner.Verify(envelopeBytes, signature, volunteer.PublicKey))
                throw Reject(RejectReason.BadSignature, "the envelope signature does not verify with the volunteer's key");

            // From here on the envelope is attributable: failures that no honest volunteer produces cost reputation.
            SubmitTicket ticket;
            try
            {
                ticket = OpenTicket(envelope, envelopeBytes, signature, volunteer);
            }
            catch (ProtocolException e) when (Attributable(e.Reason))
            {
                Penalize(volunteer.Id, e.Reason, envelopeBytes, signature);
                throw;
            }
            if (ticket.AlreadyAccepted is null) SubmissionOpened?.Invoke(ticket.WorkUnitId);
            return ticket;
        }
        catch (ProtocolException e)
        {
            RecordRejection(sessionVolunteerId, e.Reason);
            throw;
        }
    }

    private SubmitTicket OpenTicket(UpdateEnvelope envelope, byte[] envelopeBytes, byte[] signature, VolunteerRecord volunteer)
    {
        lock (_gate)
        {
            var lease = _store.GetWorkUnit(envelope.WorkUnitId);
            if (lease is null || lease.VolunteerId != volunteer.Id)
                throw Reject(RejectReason.UnleasedWorkUnit, $"work unit '{envelope.WorkUnitId}' was not leased to this volunteer");
            var shard = ShardText.Parse(lease.Shard);
            if (_store.UpdateFor(lease.Id) is { } accepted)
            {
                // A lost reply, or anyone replaying the volunteer's bytes: the same answer again, at no cost to the volunteer.
                if (accepted.Envelope.AsSpan().SequenceEqual(envelopeBytes) && accepted.Signature.AsSpan().SequenceEqual(signature))
                    return new SubmitTicket(envelope, envelopeBytes, signature, volunteer.Id, lease.Id, shard, (long)envelope.PayloadLength, accepted.Sequence, null);
                throw Reject(RejectReason.Equivocation, $"work unit '{lease.Id}' already has an accepted update (#{accepted.Sequence}) with different signed content");
            }
            CheckLease(envelope, lease, atCompletion: false);
            if (envelope.Codec != _units.Codec.Codec)
                throw Reject(RejectReason.WrongCodec, $"the update uses codec {envelope.Codec}; this coordinator requires {_units.Codec.Codec}");
            if (envelope.Tokens != (ulong)ExpectedTokens)
                throw Reject(RejectReason.WrongTokenCount, $"the envelope claims {envelope.Tokens} tokens; the unit trains exactly {ExpectedTokens} ({_options.InnerSteps} steps × {_options.BatchSize} × {_options.SequenceLength})");
            if (!double.IsFinite(envelope.MeanLoss))
                throw Reject(RejectReason.NonFinite, $"the envelope's mean_loss is {envelope.MeanLoss}");
            long expected = ExpectedLength(lease.Shard, shard);
            if (envelope.PayloadLength > (ulong)expected)
                throw Reject(RejectReason.Oversized, $"the envelope declares a {envelope.PayloadLength}-byte payload; an update of the leased shard in {_units.Codec} has exactly {expected} bytes");
            if (envelope.PayloadLength < (ulong)expected)
                throw Reject(RejectReason.MalformedEnvelope, $"the envelope declares a {envelope.PayloadLength}-byte payload; an update of the leased shard in {_units.Codec} has exactly {expected} bytes (every tensor of the shard, with its shape)");
            if (!_inFlight.Add(lease.Id))
                throw Reject(RejectReason.SubmitInProgress, $"another submission of work unit '{lease.Id}' is still being received");
            if (_receiving + expected > _options.MaxReceivingBytes)
            {
                _inFlight.Remove(lease.Id);
                throw Reject(RejectReason.Unavailable, $"the coordinator is already receiving {_receiving} bytes (limit {_options.MaxReceivingBytes}); retry in a few seconds");
            }
            _receiving += expected;
            return new SubmitTicket(envelope, envelopeBytes, signature, volunteer.Id, lease.Id, shard, expected, null, Release);
        }
    }

    private void Release(SubmitTicket ticket)
    {
        lock (_gate)
        {
            _inFlight.Remove(ticket.WorkUnitId);
            _receiving -= ticket.ExpectedLength;
        }
    }

    private long ExpectedLength(string shardText, ShardSpec shard)
    {
        if (!_expectedLengths.TryGetValue(shardText, out long length))
        {
            if (_expectedLengths.Count > 4096) _expectedLengths.Clear(); // shards repeat; the cache only saves recomputing
            _expectedLengths[shardText] = length = _verifier.ExpectedLength(shard, _units.Codec);
        }
        return length;
    }

    /// <summary>
    /// Verifies the payload of an opened submission (its length and SHA-256 already match the envelope: the protocol's reader checks
    /// them), writes it durably and records it in the ledger; returns its ledger sequence. Names and shapes are checked from the payload
    /// header before tensor memory is allocated, then finiteness, the absolute norm bound (attributable) and the running norm bound (not).
    /// A storage failure is <see cref="RejectReason.CoordinatorStorage"/> and leaves nothing behind.
    /// </summary>
    public long CompleteSubmit(SubmitTicket ticket, byte[] payload)
    {
        using var complete = IncomingPayload.Complete(payload, _verifier, ticket.Shard, _units.Codec);
        return CompleteSubmit(ticket, complete);
    }

    /// <summary>Raised after each accepted submission with when its steps ended (the submit benchmark's breakdown).</summary>
    public event Action<SubmitTimings>? SubmitTimed;

    /// <summary>
    /// A buffer for the payload of an opened submission, which decodes, checks and stages the bytes while they arrive when it is large
    /// (see <see cref="IncomingPayload"/>); <paramref name="observer"/> sees every fill level too. The caller disposes it.
    /// </summary>
    public IncomingPayload ReceivePayload(SubmitTicket ticket, IProgress<long>? observer = null) =>
        IncomingPayload.Receive(ticket.ExpectedLength, _verifier, ticket.Shard, _units.Codec, Path.Combine(_options.DataDirectory, "incoming"), ticket.WorkUnitId, observer);

    /// <summary>
    /// As <see cref="CompleteSubmit(SubmitTicket, byte[])"/> for a payload received into <paramref name="payload"/>: call it once the
    /// protocol's reader has checked the length and hash. The decode and checks (done while the bytes arrived, or now) give their
    /// verdict only here.
    /// </summary>
    public long CompleteSubmit(SubmitTicket ticket, IncomingPayload payload)
    {
        if (ticket.AlreadyAccepted is { } done) return done;
        try
        {
            if (payload.Received != ticket.ExpectedLength || payload.Length != ticket.ExpectedLength)
                throw Reject(RejectReason.TruncatedStream, $"received {payload.Received} payload bytes; the envelope announces {ticket.ExpectedLength}");
            IReadOnlyDictionary<string, double> norms;
            try
            {
                norms = payload.Verify();
                if (norms.GetValueOrDefault(TensorGroups.Trunk) == 0)
                    throw Reject(RejectReason.NoProgress, "the trunk update is exactly zero");
            }
            catch (ProtocolException e) when (Attributable(e.Reason))
            {
                Penalize(ticket.VolunteerId, e.Reason, ticket.EnvelopeBytes, ticket.Signature);
                throw;
            }
            lock (_gate) CheckRunningNormBound(ticket.VolunteerId, norms);
            long seq = Record(ticket, payload, norms);
            payload.Timings.Mark(SubmitPhase.Recorded);
            UpdateDecided?.Invoke(UpdateDecision.Accept(ticket.VolunteerId, payload.Length));
            SubmitTimed?.Invoke(payload.Timings);
            return seq;
        }
        catch (ProtocolException e)
        {
            RecordRejection(ticket.VolunteerId, e.Reason);
            EndRefusedLease(ticket.WorkUnitId, ticket.VolunteerId, e.Reason);
            throw;
        }
        finally
        {
            ticket.Dispose();
        }
    }

    /// <summary>
    /// In-process submission of a payload already on disk (simulator, benchmarks, engine tests): the same checks as gRPC, in the same
    /// order. The file is deleted either way.
    /// </summary>
    public long Submit(SubmittedUpdate update)
    {
        try
        {
            using var ticket = BeginSubmit(update.Envelope, update.Signature, update.SessionVolunteerId);
            if (ticket.AlreadyAccepted is { } done) return done;
            try
            {
                if (update.PayloadLength != (long)ticket.Envelope.PayloadLength)
                    throw Reject(RejectReason.TruncatedStream, $"received {update.PayloadLength} payload bytes; the envelope announces {ticket.Envelope.PayloadLength}");
                if (!update.PayloadSha256.AsSpan().SequenceEqual(ticket.Envelope.PayloadSha256))
                    throw Reject(RejectReason.HashMismatch, "the payload's SHA-256 differs from the envelope's");
            }
            catch (ProtocolException e)
            {
                RecordRejection(update.SessionVolunteerId, e.Reason);
                throw;
            }
            return CompleteSubmit(ticket, File.ReadAllBytes(update.PayloadPath));
        }
        finally
        {
            TryDelete(update.PayloadPath);
        }
    }

    /// <summary>
    /// Rejects a norm above <see cref="CoordinatorOptions.NormBoundFactor"/> × the median over keys of their latest verified norms
    /// (<see cref="NormHistory"/>: why per key, and why a refused norm is remembered too). The bound is taken before this update's own
    /// norms are recorded, so no update raises the bound it is checked against. Caller holds the lock.
    /// </summary>
    private void CheckRunningNormBound(string volunteerId, IReadOnlyDictionary<string, double> norms)
    {
        if (_options.NormBoundFactor <= 0) return;
        var medians = norms.Keys.Select(NormHistory.Kind).Distinct().ToDictionary(kind => kind, kind => _norms.Median(kind, OnProbation));
        _norms.Record(volunteerId, norms);
        foreach (var (key, norm) in norms)
        {
            if (medians[NormHistory.Kind(key)] is { } median && norm > _options.NormBoundFactor * median)
                throw Reject(RejectReason.NormTooLarge, $"the {key} update has L2 norm {norm:G4}, above {_options.NormBoundFactor:G3} × the median {median:G4} of the volunteers' recent update norms (--norm-bound-factor)");
        }
    }

    private long Record(SubmitTicket ticket, IncomingPayload payload, IReadOnlyDictionary<string, double> norms)
    {
        var envelope = ticket.Envelope;
        string dir = Path.Combine(_options.DataDirectory, "updates", $"r{envelope.Round}");
        string final = Path.Combine(dir, ticket.WorkUnitId + ".bin");
        try
        {
            // Outside the lock (a large payload takes a while), only once verified (a large one was staged in incoming/ while it
            // arrived and is moved here now); durable before the ledger names it.
            Directory.CreateDirectory(dir);
            payload.Commit(final, _options.Durable);
            if (_options.Durable) DurableFiles.SyncDirectory(dir);
            payload.Timings.Mark(SubmitPhase.Stored);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(final);
            Log?.Invoke($"STORAGE FAILURE: could not write the update for {ticket.WorkUnitId} to {dir} ({e.Message}); free disk space or move the data directory. The coordinator keeps serving; volunteers keep their updates and retry.");
            throw Reject(RejectReason.CoordinatorStorage, $"the coordinator could not store the update ({e.GetType().Name})");
        }

        lock (_gate)
        {
            try
            {
                WaitWhileClosing(); // an update that completes while a round closes belongs to the next round (or is stale), as before
                var lease = _store.GetWorkUnit(ticket.WorkUnitId)!;
                CheckLease(envelope, lease, atCompletion: true); // the round may have closed while the payload streamed
                // The key may have been banned while its payload streamed (a failed spot check of an earlier update): the check at
                // BeginSubmit is not enough, or its in-flight update would join the round its ban just cleaned.
                if (_store.GetVolunteer(ticket.VolunteerId) is { Banned: true } banned)
                    throw Reject(RejectReason.Banned, $"volunteer {ticket.VolunteerId[..12]}… was banned while this update streamed ({banned.BanReason})");
                if (_store.HasUpdateFor(lease.Id))
                    throw Reject(RejectReason.SubmitInProgress, $"an update for work unit '{lease.Id}' was accepted meanwhile");
                // A stale update (bounded staleness) is aggregated into the current round; the ledger's round says where
                // it was applied and its version what it was trained from.
                var record = new UpdateRecord(lease.Id, ticket.VolunteerId, _round, lease.Version, ticket.EnvelopeBytes, ticket.Signature,
                    Path.GetRelativePath(_options.DataDirectory, final), payload.Length, ExpectedTokens, envelope.MeanLoss, NowMs());
                long seq;
                try
                {
                    seq = RecordAccept(record, envelope.PayloadSha256);
                }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
                {
                    Log?.Invoke($"STORAGE FAILURE: could not record the update for {ticket.WorkUnitId} in the ledger ({e.Message}); the coordinator keeps serving.");
                    throw Reject(RejectReason.CoordinatorStorage, $"the coordinator could not record the update ({e.GetType().Name})");
                }
                SetLease(lease with { State = "completed" });
                _lastSeen[ticket.VolunteerId] = _time.GetUtcNow();
                _sessions.Touch(ticket.VolunteerId);
                if (_checkUnits.Contains(lease.Id))
                {
                    // A blind check unit: acknowledged and logged like any update, compared with the checked one, never aggregated (it
                    // repeats a slice the round already has); its norm is its key's latest in the running bound, like any verified update.
                    DeliverBlindCheck(record with { Sequence = seq }, lease, payload);
                    _signal.Release();
                    return seq;
                }
                // Held in its wire form (the durable file just written): decoded when the round closes (DecodeInputs).
                _accepted.Add(new AcceptedUpdate(record with { Sequence = seq }, ticket.Shard, lease.UnitIndex, norms.GetValueOrDefault(TensorGroups.Trunk)));
                ConsiderSpotCheck(record with { Sequence = seq }, lease, payload, ticket.Shard);
                _signal.Release();
                return seq;
            }
            catch
            {
                TryDelete(final);
                throw;
            }
        }
    }

    /// <summary>Round, staleness, version, deadline and shard of a lease against the envelope. Caller holds the lock.</summary>
    private void CheckLease(UpdateEnvelope envelope, WorkUnitRecord lease, bool atCompletion)
    {
        // Staleness counts from the version the unit trained from (an eager unit's version is its round − 1).
        if ((long)envelope.Round != lease.Round || _round - lease.Version > _options.MaxStaleness)
            throw Reject(RejectReason.StaleRound, _options.MaxStaleness == 0
                ? $"the update is for round {envelope.Round}; the current round is {_round}"
                : $"the update is for round {envelope.Round}, trained from version {lease.Version}; the current round is {_round}, more than --max-staleness {_options.MaxStaleness} later");
        if (lease.Round > _round)
            throw new Protocol.Errors.ProtocolException(RejectReason.Unavailable,
                $"eager unit '{lease.Id}' is for round {lease.Round}, which opens when round {_round} closes; resend it then", BusyRetry);
        if ((long)envelope.ModelVersion != lease.Version)
            throw Reject(RejectReason.StaleVersion, $"the update was trained from version {envelope.ModelVersion}; its work unit was leased at version {lease.Version}");
        // A stream that began before the deadline may finish after it: the deadline is checked when the submission opens.
        if (!atCompletion && (!_leases.TryGetValue(lease.Id, out var live) || live.State == "expired" || NowMs() > live.DeadlineMs))
            throw Reject(RejectReason.ExpiredLease, $"the lease on '{lease.Id}' expired at {DateTimeOffset.FromUnixTimeMilliseconds(_leases.GetValueOrDefault(lease.Id)?.DeadlineMs ?? lease.DeadlineMs):O}");
        if (ShardText.Format(ShardText.FromEnvelope(envelope)) != lease.Shard)
            throw Reject(RejectReason.WrongShard, $"the envelope's shard differs from the leased shard {lease.Shard}");
    }

    /// <summary>
    /// Ends the lease of a unit whose signed payload was refused for its content (either norm bound, no progress, a malformed,
    /// non-finite, misnamed or misshapen payload): the unit is deterministic (shard, version, data slice), so its holder would retrain
    /// the same bytes into the same refusal for as long as the lease lived, holding one of the round's slots. Ended, its slot is
    /// reissued and the holder's next request gets a different unit. An identical resend then gets <c>expired-lease</c> at no cost;
    /// equivocation (different content for an accepted unit) is decided before the lease and is unchanged. Only the signed holder's
    /// own payload can end its lease (the signature and lease were checked first). Refusals of the envelope alone (token count, codec,
    /// shard, length) keep the lease: the same payload under a correct envelope is valid. Transient refusals (a truncated stream, a
    /// busy coordinator, storage) keep it too: the volunteer resends the update it has.
    /// </summary>
    private void EndRefusedLease(string workUnitId, string volunteerId, RejectReason reason)
    {
        if (!EndsLease(reason)) return;
        lock (_gate)
        {
            if (_leases.TryGetValue(workUnitId, out var lease) && lease.VolunteerId == volunteerId && lease.State == "leased")
                ExpireLease(lease, $"its update was refused ({RejectReasons.Token(reason)})");
        }
    }

    /// <summary>Refusals of a payload's content, which a retrain of the same unit would repeat (<see cref="EndRefusedLease"/>).</summary>
    public static bool EndsLease(RejectReason reason) => reason is RejectReason.NormTooLarge or RejectReason.NoProgress or RejectReason.NonFinite
        or RejectReason.WrongShape or RejectReason.WrongTensorNames or RejectReason.MalformedPayload;

    /// <summary>Failures only a misbehaving key produces (with a valid signature): they cost reputation. Network and timing failures never do.</summary>
    private static bool Attributable(RejectReason reason) => reason is RejectReason.Equivocation or RejectReason.NonFinite or RejectReason.WrongShape
        or RejectReason.WrongTensorNames or RejectReason.NormTooLarge or RejectReason.MalformedPayload or RejectReason.WrongShard or RejectReason.WrongCodec
        or RejectReason.WrongTokenCount or RejectReason.NoProgress;

    private void Penalize(string volunteerId, RejectReason reason, byte[] envelope, byte[] signature)
    {
        lock (_gate)
        {
            double score = _reputation.Adjust(volunteerId, -ReputationBook.FailedCheckPenalty);
            _store.SetReputation(volunteerId, score);
            if (reason == RejectReason.Equivocation) _store.AddEvidence(volunteerId, RejectReasons.Token(reason), NowMs(), envelope, signature);
            if (score < _options.BanThreshold)
            {
                BanLocked(volunteerId, $"reputation {score:0.##} after {RejectReasons.Token(reason)}", envelope, signature);
                Log?.Invoke($"banned volunteer {volunteerId[..12]}: reputation {score:0.##} after {RejectReasons.Token(reason)}");
            }
        }
    }

    /// <summary>Bans with evidence, frees the volunteer's leases for reissue and stops counting it as active. Caller holds the lock.</summary>
    private void BanLocked(string volunteerId, string reason, byte[] envelope, byte[] signature)
    {
        RecordBan(volunteerId, reason, envelope, signature);
        Retire(volunteerId, "volunteer banned");
    }
}
