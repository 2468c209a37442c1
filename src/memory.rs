//! The allocator this server runs on, and giving freed memory back.
//!
//! Why jemalloc: an idle SSE stream is mostly two 8 KiB buffers that hyper
//! holds for the connection's life, of which a few hundred bytes are ever
//! written. Resident memory counts only the pages written. jemalloc keeps its
//! bookkeeping outside the blocks it hands out and places 8 KiB blocks on page
//! boundaries, so each buffer costs one page; glibc writes a header before
//! every block, which touches the pages around it. Measured at 10,000 idle
//! streams (`bench/PROFILE-memory.md`): 17.2 KiB per stream with glibc,
//! 12 KiB with jemalloc, and connects ~30 % faster.
//!
//! Giving back: after the load lab's thousands of clients leave, a workshop
//! server that runs for days should not keep the peak's pages (measured with
//! glibc: 94 MB → 289 MB after three runs of 8,000 clients, never coming
//! down). jemalloc returns unused pages on its own as time passes; after such
//! a burst the lab asks it to do so at once. Built without the `jemalloc`
//! feature, the server runs on the system's allocator and asks glibc to trim.

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Returns the allocator's free memory to the OS, where the allocator allows it.
pub fn give_back_to_os() {
    #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
    // SAFETY: a "void" mallctl (no old or new value) that purges unused
    // dirty pages of every arena; it takes no pointers of ours but the
    // NUL-terminated name and is safe from any thread.
    unsafe {
        // 4096 is MALLCTL_ARENAS_ALL: every arena.
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
    #[cfg(all(
        not(all(feature = "jemalloc", not(target_env = "msvc"))),
        target_os = "linux",
        target_env = "gnu"
    ))]
    // SAFETY: malloc_trim only releases free heap pages; it takes no
    // pointers and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(test, feature = "jemalloc", not(target_env = "msvc")))]
mod tests {
    use std::ffi::CStr;

    /// Reads a jemalloc statistic, after refreshing the statistics' epoch.
    fn stat<T: Default>(name: &CStr) -> T {
        // SAFETY: "epoch" takes a u64 and refreshes the cached statistics;
        // `name` is a statistic of type T, read into a buffer of T's size.
        unsafe {
            let mut epoch: u64 = 1;
            let rc = tikv_jemalloc_sys::mallctl(
                c"epoch".as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (&mut epoch as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            );
            assert_eq!(rc, 0, "mallctl epoch");
            let mut value = T::default();
            let mut len = std::mem::size_of::<T>();
            let rc = tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                (&mut value as *mut T).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            );
            assert_eq!(rc, 0, "mallctl {name:?}");
            value
        }
    }

    /// jemalloc serves this process, and giving back empties its dirty pages.
    #[test]
    fn jemalloc_serves_this_process_and_gives_pages_back() {
        let allocated = || stat::<u64>(c"thread.allocated");
        let before = allocated();
        let blocks: Vec<Vec<u8>> = (0..4096).map(|_| vec![1u8; 8192]).collect();
        assert!(
            allocated() >= before + 4096 * 8192,
            "jemalloc counted the blocks"
        );
        drop(std::hint::black_box(blocks));
        // In pages; other tests in this binary may free memory meanwhile,
        // so judge by half of our 32 MiB.
        let half_ours = 4096 * 8192 / stat::<usize>(c"arenas.page") / 2;
        let dirty = || stat::<usize>(c"stats.arenas.4096.pdirty");
        let waiting = dirty();
        assert!(
            waiting >= half_ours,
            "freed pages wait in the arenas: {waiting}"
        );
        super::give_back_to_os();
        let left = dirty();
        assert!(
            left + half_ours <= waiting,
            "the purge returned them: {waiting} → {left}"
        );
    }
}
