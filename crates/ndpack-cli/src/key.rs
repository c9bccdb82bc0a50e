//! NumPy basic-indexing keys written as text (`"0:100, ::2"`, `"-1, ..., 5:0:-1"`), as the
//! `--slice` option of `ndpack unpack` takes them.

use ndpack::region::Index;
use ndpack::{Error, Result};

/// Parses `text` as the inside of NumPy's `a[...]`: comma-separated items, each an integer
/// (negative counts from the end), a slice `start:stop:step` with any part omitted (negative
/// steps too), `...`, or `None` / `newaxis`. Surrounding brackets and one trailing comma are
/// allowed; an empty text is the whole array.
pub fn parse_key(text: &str) -> Result<Vec<Index>> {
    let mut t = text.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        t = inner.trim();
    }
    if t.is_empty() {
        return Ok(Vec::new());
    }
    let mut items: Vec<&str> = t.split(',').collect();
    if items.len() > 1 && items.last().is_some_and(|s| s.trim().is_empty()) {
        items.pop();
    }
    items
        .into_iter()
        .map(|item| parse_item(item.trim(), text))
        .collect()
}

fn parse_item(item: &str, text: &str) -> Result<Index> {
    match item {
        "..." | "Ellipsis" => return Ok(Index::Ellipsis),
        "None" | "newaxis" | "np.newaxis" => return Ok(Index::NewAxis),
        "" => {
            return Err(Error::invalid_argument(format!(
                "empty item in the slice {text:?}"
            )))
        }
        _ => {}
    }
    if !item.contains(':') {
        return Ok(Index::Int(int(item, text)?));
    }
    let parts: Vec<&str> = item.split(':').map(str::trim).collect();
    if parts.len() > 3 {
        return Err(Error::invalid_argument(format!(
            "{item:?} in the slice {text:?} has more than two ':'"
        )));
    }
    let part = |k: usize| -> Result<Option<isize>> {
        match parts.get(k).copied() {
            None | Some("") | Some("None") => Ok(None),
            Some(p) => int(p, text).map(Some),
        }
    };
    let step = part(2)?;
    if step == Some(0) {
        return Err(Error::invalid_argument(format!(
            "slice step cannot be zero ({item:?} in {text:?})"
        )));
    }
    Ok(Index::Slice {
        start: part(0)?,
        stop: part(1)?,
        step,
    })
}

fn int(s: &str, text: &str) -> Result<isize> {
    s.replace('_', "").parse().map_err(|_| {
        Error::invalid_argument(format!(
            "{s:?} in the slice {text:?} is not an integer, a slice, '...' or None"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sl(start: Option<isize>, stop: Option<isize>, step: Option<isize>) -> Index {
        Index::Slice { start, stop, step }
    }

    #[test]
    fn numpy_keys_parse() {
        assert_eq!(
            parse_key("0:100,::2").unwrap(),
            [sl(Some(0), Some(100), None), sl(None, None, Some(2))]
        );
        assert_eq!(
            parse_key("[-1, ..., 5:0:-1, None]").unwrap(),
            [
                Index::Int(-1),
                Index::Ellipsis,
                sl(Some(5), Some(0), Some(-1)),
                Index::NewAxis
            ]
        );
        assert_eq!(parse_key(" 3, ").unwrap(), [Index::Int(3)]);
        assert_eq!(parse_key(":").unwrap(), [Index::FULL]);
        assert_eq!(parse_key("::-1").unwrap(), [sl(None, None, Some(-1))]);
        assert_eq!(parse_key("1_000:").unwrap(), [sl(Some(1000), None, None)]);
        assert!(parse_key("").unwrap().is_empty());
        assert!(parse_key("[]").unwrap().is_empty());
    }

    #[test]
    fn bad_keys_are_errors() {
        for bad in [
            "a",
            "1:2:3:4",
            "::0",
            "1,,2",
            "1.5",
            "0:x",
            ",",
            "99999999999999999999",
        ] {
            let e = parse_key(bad).unwrap_err();
            assert_eq!(e.kind(), ndpack::ErrorKind::InvalidArgument, "{bad}");
        }
    }
}
