// SecureAggregation: SecAgg+ (Bell et al. 2020, on Bonawitz et al. 2017) inside one regional
// shard, as pure code. This file holds no declarations; it is the module's design note.
//
// Stages (SecAggStage): advertise keys → share keys → masked input → unmasking.
//   1. Each device advertises two X25519 public keys (cipher, mask), optionally signed by its
//      enrolled Ed25519 key. The shard announces to each device its live neighbours in a
//      random Harary graph (NeighbourGraph, degree and threshold from GraphParameterFinder).
//   2. Each device Shamir-shares (t of its k neighbours) a fresh 32-byte self-mask seed b_u and
//      its mask private key s_u, and seals each neighbour's pair with ChaChaPoly under
//      HKDF-SHA256(X25519(c_u, c_v), info = label | round | sender | recipient).
//   3. Each device with ≥ t forwarded shares sends y_u = x_u + PRG(b_u) ± Σ_v PRG(s_uv) mod 2^b,
//      the pairwise seed being HKDF(X25519(s_u, s_v), info = label | round | sorted ids) and PRG
//      the ChaCha20 keystream (MaskExpander; never a 32-bit seed or a general-purpose RNG).
//   4. Each survivor returns, per neighbour, the b-share of a survivor or the s-share of a
//      device that shared keys but sent no input, never both for one id. The shard rebuilds,
//      strips the masks, and releases only the sum and the list of survivors.
//
// Threat model.
// - Semi-honest shard (DESIGN.md §5): it follows the protocol and sees every message. It
//   holds the running masked sum (O(model)) and learns one plain vector, the sum over at least
//   `minimumSurvivors` (≥ t + 1) devices. A masked input minus its self mask still carries the
//   pairwise masks of its surviving neighbours, which the shard cannot compute
//   (SecAggPrivacyTests.shardNeverHoldsOneDevicesUnmaskedVector).
// - A malicious shard could: (a) claim a device dropped after reading its input, asking for
//   its s-shares; honest devices refuse any request naming one id as both survivor and
//   dropped, and answer only one request per round, but shares sent to different devices
//   can still be split across two stories unless t > (k + corrupt neighbours)/2, which is what
//   `.semiMaliciousServer` in GraphParameterFinder raises t for; (b) substitute its own keys
//   for a device's: only signed advertisements (SecAggSigningKey plus the enrolment
//   directory) stop that; (c) announce a tiny neighbourhood or a made-up cohort (Sybil
//   devices) to isolate a victim: devices refuse fewer than t neighbours, but Sybils need the
//   transport's enrolment (CURVE + ZAP allowlist) to be kept out. It can always drop honest
//   devices and make the round fail; that costs liveness, not privacy.
// - A coalition of t devices that are all neighbours of a victim (with the shard's help) can
//   rebuild the victim's b_u and, if the shard lies, s_u: the graph parameters make that
//   event's probability ≤ 2^-40 for the assumed corrupt rate. Fewer than t learn nothing
//   about a shared secret (Shamir's t − 1 shares are uniform; ShamirSharingTests).
// - Nothing here hides who took part from the shard; under DP, the shard is the trusted
//   aggregator the subsampling amplification assumes.
//
// Sizes. Values are k-bit signed integers (SecAggQuantizer: shared scale, stochastic
// rounding) summed mod 2^b with b ≥ k + ⌈log2 n⌉ (SecAggConfiguration refuses less). Measured
// in-process (SecAggBenchmark, 100 devices, 10^5 parameters, k = 16, b = 23, degree 28,
// t = 6, 10 % dropped after sharing): 294,894 bytes uploaded per surviving device with a
// bit-packed masked vector, 1.47× the 16-bit plain update (0.74× the f32le update sent today);
// as encoded secagg.* messages the keys and shares travel as hex and the masked vector packed
// at b bits (`ubits`), so the wire adds the hex overhead of the small fields only.
//
// Wire: Sources/Wire/Header+SecAgg.swift and schemas/secagg.*.schema.json define the six stage
// topics (in Topic.known); Rounds/SecAgg/SecAggPlan turns round.open settings into numbers.
