//! "Did you mean ...?": the nearest known name to a mistyped one.
//!
//! Every place that reads a name from a user — an op or field in a trace,
//! a policy, a workload or parameter name, a subcommand — offers the
//! nearest known name when the word is a likely typo, so `--policy Linux`,
//! `gen strandin` and `cowsim rnu` each come back with the fix.

/// The candidate closest to `text` by edit distance, if it is close enough
/// to be a likely typo: at most two edits, and fewer than a third of the
/// longer word. Case is ignored (`Linux` is one edit from nothing but is
/// `linux` exactly). Ties go to the earliest candidate, so output is stable.
pub fn closest<'n>(text: &str, candidates: impl IntoIterator<Item = &'n str>) -> Option<&'n str> {
    let lowered = text.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let Some(distance) = edit_distance(&lowered, &candidate.to_lowercase()) else {
            continue;
        };
        let longer = text.chars().count().max(candidate.chars().count());
        let close_enough = distance <= 2 && distance * 3 <= longer;
        if close_enough && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `did you mean "x"?` for the closest candidate, or `None`.
pub fn did_you_mean<'n>(text: &str, candidates: impl IntoIterator<Item = &'n str>) -> Option<String> {
    closest(text, candidates).map(|close| format!("did you mean {close:?}?"))
}

/// Edits (insert, delete, substitute, swap two neighbours) turning `a` into
/// `b`: the optimal string alignment distance. `None` for words over 64
/// characters, which are not typos of a name and would cost time.
fn edit_distance(a: &str, b: &str) -> Option<usize> {
    const LONGEST: usize = 64;
    let a: Vec<char> = a.chars().take(LONGEST + 1).collect();
    let b: Vec<char> = b.chars().take(LONGEST + 1).collect();
    if a.len() > LONGEST || b.len() > LONGEST {
        return None;
    }
    // d[i][j] is the distance between a[..i] and b[..j]. Every index below
    // stays within 0..=a.len() and 0..=b.len() by the loop bounds.
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    Some(d[a.len()][b.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_none() {
        assert_eq!(closest("rnu", ["run", "compare", "gen"]), Some("run"));
        assert_eq!(closest("Linux", ["linux", "uvm"]), Some("linux"));
        assert_eq!(closest("strandin", ["stranding", "shell"]), Some("stranding"));
        assert_eq!(closest("szie", ["size", "addr"]), Some("size"));
        assert_eq!(closest("banana", ["run", "gen"]), None);
        assert_eq!(closest(&"x".repeat(500), ["x"]), None);
        assert_eq!(did_you_mean("gnumahc", ["gnumach"]).as_deref(), Some("did you mean \"gnumach\"?"));
    }

    #[test]
    fn distances_count_edits_and_give_up_on_long_words() {
        assert_eq!(edit_distance("kitten", "sitting"), Some(3));
        assert_eq!(edit_distance("ab", "ba"), Some(1));
        assert_eq!(edit_distance(&"a".repeat(100), "a"), None);
    }
}
