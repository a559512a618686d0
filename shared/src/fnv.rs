//! FNV-1a, 64-bit: a hash that is the same on every machine and in every release, for names
//! derived from content (a pod template's hash) and for spreading nodes over the masters.

/// The FNV-1a hash of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Which of `n` masters node `name` holds its session with by preference: the agent and every
/// master pick the same one, so the nodes spread evenly and each stays where it was.
pub fn spread(name: &str, n: usize) -> usize {
    (fnv1a(name.as_bytes()) % n.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a() {
        // The published test vectors of FNV-1a, 64-bit.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn a_thousand_nodes_spread_over_three_masters_evenly() {
        let mut counts = [0usize; 3];
        for i in 0..1000 {
            counts[spread(&format!("hollow-{i}"), 3)] += 1;
        }
        assert!(counts.iter().all(|c| (280..=387).contains(c)), "{counts:?}");
        assert_eq!(spread("anything", 0), 0);
    }
}
