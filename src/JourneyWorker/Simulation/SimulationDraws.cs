namespace JourneyWorker.Simulation;

/// <summary>
/// The simulation's chance, as pure functions of (seed, profile, what is drawn): the same request draws the same outcomes
/// on every run and on every machine, whatever order the profiles are processed in, so a run repeats exactly and a test
/// can tell in advance who will open.
/// </summary>
public static class SimulationDraws
{
    /// <summary>A number in [0, 1) for <paramref name="seed"/>, <paramref name="profileId"/> and <paramref name="what"/>.</summary>
    public static double Uniform(int seed, long profileId, string what)
    {
        var hash = 14695981039346656037UL; // FNV-1a over the label, then mixed with the seed and the profile
        foreach (var c in what)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        var mixed = Mix(Mix((ulong)seed ^ hash) ^ (ulong)profileId);
        return (mixed >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Whether the profile reacts to the message of <paramref name="nodeId"/> at a reaction's <paramref name="rate"/>.</summary>
    /// <remarks>
    /// Opens and clicks share one draw per message, so with a click rate at most the open rate every clicker also opened,
    /// as with real mail.
    /// </remarks>
    public static bool Reacts(int seed, long profileId, string nodeId, double rate) =>
        rate > 0 && Uniform(seed, profileId, $"reaction:{nodeId}") < rate;

    /// <summary>How long after the message the reaction comes: up to an hour, where most opens of real campaigns fall.</summary>
    public static TimeSpan ReactionDelay(int seed, long profileId, string nodeId, string kind) =>
        TimeSpan.FromMinutes(1 + 59 * Uniform(seed, profileId, $"delay:{nodeId}:{kind}"));

    /// <summary>Whether scripted event number <paramref name="index"/> happens for the profile.</summary>
    public static bool Takes(int seed, long profileId, int index, double share) =>
        share >= 1 || (share > 0 && Uniform(seed, profileId, $"event:{index}") < share);

    private static ulong Mix(ulong z)
    {
        // SplitMix64's finaliser: every input bit moves every output bit.
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}
