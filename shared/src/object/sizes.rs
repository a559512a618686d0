//! What every stored object version holds inline, kept small: a master holds tens of
//! thousands of versions, each in the jemalloc size class rounded up from these sizes.
#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use crate::pod::{ContainerStatus, Pod};
    use crate::Object;

    /// An `Arc<Object>`'s allocation: the object and two counts.
    const ARC_COUNTS: usize = 2 * size_of::<usize>();

    #[test]
    fn no_kind_is_larger_than_a_pod() {
        // Larger kinds are boxed in `kinds!`: an `Object` is a Pod and at most its tag (which
        // some feature sets of the workspace's dependencies leave no niche for).
        assert!(
            size_of::<Object>() <= size_of::<Pod>() + 8,
            "{}",
            size_of::<Object>()
        );
        assert!(
            size_of::<Object>() + ARC_COUNTS <= 768,
            "a pod version is a 768-byte allocation, not 896: {} bytes",
            size_of::<Object>() + ARC_COUNTS
        );
    }

    #[test]
    fn a_container_status_keeps_its_rare_states_boxed() {
        // Inline, the last state and the waiting and terminated states made it 456 bytes.
        assert!(
            size_of::<ContainerStatus>() <= 160,
            "{}",
            size_of::<ContainerStatus>()
        );
    }
}
