//! Process groups, as the runner stops them: a signal to a whole group (through rustix, no
//! `kill` process), and whether a group still has a live member (Linux `/proc`). A leaf: both
//! `process` (children it starts) and `orphans` (groups a dead runner left) use it.

#[derive(Clone, Copy)]
pub(super) enum Signal {
    Term,
    Kill,
}

/// Sends `signal` to every process of group `pgid` (a group that is gone is not an error).
pub(super) fn signal_group(pgid: i32, signal: Signal) {
    let (Some(group), sig) = (
        rustix::process::Pid::from_raw(pgid),
        match signal {
            Signal::Term => rustix::process::Signal::TERM,
            Signal::Kill => rustix::process::Signal::KILL,
        },
    ) else {
        return;
    };
    let _ = rustix::process::kill_process_group(group, sig);
}

/// Whether a live process is in process group `pgid` (Linux `/proc`; elsewhere: false).
pub(super) fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        e.file_name().to_string_lossy().parse::<u32>().is_ok()
            && std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|stat| stat_state_and_group(&stat))
                .is_some_and(|(state, group)| group == pgid && state != 'Z' && state != 'X')
    })
}

/// State and process group from a `/proc/PID/stat` line: `pid (comm) state ppid pgrp …`;
/// `comm` may hold spaces and parentheses, so fields are counted after its last `)`.
pub(super) fn stat_state_and_group(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_state_and_group_even_with_odd_names() {
        assert_eq!(
            stat_state_and_group("4242 (chromium) S 4200 4100 4100 0 -1"),
            Some(('S', 4100))
        );
        assert_eq!(
            stat_state_and_group("7 (a (b) c) Z 1 99 99 0"),
            Some(('Z', 99))
        );
        assert_eq!(stat_state_and_group("garbage"), None);
    }
}
