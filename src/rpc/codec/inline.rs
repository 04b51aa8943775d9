//! The inline image of an `item/completed` line, cut out of the line's own buffer.
//!
//! An image item's `result` is most of its line (10.7 MiB of base64 for an 8 MiB image). Parsed the
//! ordinary way, the line and a `String` copy of the base64 are alive together, and decoding adds a third
//! buffer. Instead the line is read once with borrowed fields to find where the base64 lies; the rest of
//! the message (a few KiB) is copied out with an empty `result` for the ordinary parse, and the line's
//! buffer, with the base64 moved to its front, becomes the payload. Anything that does not fit exactly
//! (another method or item type, an escape inside the string, keys repeated) is left to the ordinary
//! parse, which gives the same answer with a copy.

use std::borrow::Cow;

use serde::Deserialize;

/// Lines shorter than this go straight to the ordinary parse: the cut saves nothing there, and most
/// lines are notifications of a few hundred bytes.
pub(crate) const MIN_LINE: usize = 4 * 1024;

/// A line whose image payload was cut out.
#[derive(Debug, PartialEq)]
pub(crate) struct Cut {
    /// The line with `"result":""` where the base64 was.
    pub rest: Vec<u8>,
    /// The base64 text of `params.item.result`, as sent.
    pub payload: String,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<Params<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow)]
    item: Option<Item<'a>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    /// Borrowed: a string with an escape cannot be, so the parse fails and the line takes the
    /// ordinary path.
    #[serde(borrow)]
    result: Option<&'a str>,
}

/// Cuts the base64 `result` out of an `item/completed` line for an `imageGeneration` item; any other
/// line is handed back untouched.
pub(crate) fn cut_image(mut line: Vec<u8>) -> Result<Cut, Vec<u8>> {
    let Some((start, end)) = payload_span(&line) else {
        return Err(line);
    };
    let mut rest = Vec::with_capacity(line.len() - (end - start));
    rest.extend_from_slice(&line[..start]);
    rest.extend_from_slice(&line[end..]);
    line.copy_within(start..end, 0);
    line.truncate(end - start);
    // `payload_span` checked that these bytes are ASCII.
    let payload = String::from_utf8(line)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Cut { rest, payload })
}

/// Where the text of `params.item.result` lies in `line`, when the line is an image item's
/// `item/completed` with a non-empty, escape-free, ASCII `result`.
fn payload_span(line: &[u8]) -> Option<(usize, usize)> {
    let parsed: Line<'_> = serde_json::from_slice(line).ok()?;
    if parsed.method.as_deref() != Some("item/completed") {
        return None;
    }
    let item = parsed.params?.item?;
    if item.kind.as_deref() != Some("imageGeneration") {
        return None;
    }
    let result = item.result.filter(|r| !r.is_empty() && r.is_ascii())?;
    // The borrowed `&str` points into `line`; its place there is the span.
    let start = (result.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start.checked_add(result.len())?;
    let quoted = line.get(start.checked_sub(1)?..end.checked_add(1)?)?;
    (quoted.first() == Some(&b'"') && quoted.last() == Some(&b'"')).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{json, Value};

    fn line(value: &Value) -> Vec<u8> {
        serde_json::to_vec(value).expect("json")
    }

    fn completed(item: Value) -> Value {
        json!({"method": "item/completed", "params": {"threadId": "t", "turnId": "u", "item": item}})
    }

    #[test]
    fn an_image_items_result_is_cut_out_and_the_rest_says_the_same_without_it() {
        let item = json!({"type": "imageGeneration", "id": "ig_1", "status": "completed",
            "result": "iVBORw0KGgo=", "savedPath": "/h/generated_images/t/ig_1.png"});
        let cut = cut_image(line(&completed(item.clone()))).expect("cut");
        assert_eq!(cut.payload, "iVBORw0KGgo=");
        let mut without = item;
        without["result"] = json!("");
        let rest: Value = serde_json::from_slice(&cut.rest).expect("the rest is JSON");
        assert_eq!(rest, completed(without));
    }

    #[test]
    fn the_result_may_come_anywhere_in_the_item_and_the_item_anywhere_in_the_line() {
        let text = r#"{ "params" : { "item" : { "result" : "QUJD" , "type" : "imageGeneration" } , "threadId":"t" } , "method" : "item/completed" }"#;
        let cut = cut_image(text.as_bytes().to_vec()).expect("cut");
        assert_eq!(
            (cut.payload.as_str(), String::from_utf8_lossy(&cut.rest)),
            (
                "QUJD",
                Cow::Borrowed(
                    r#"{ "params" : { "item" : { "result" : "" , "type" : "imageGeneration" } , "threadId":"t" } , "method" : "item/completed" }"#
                )
            )
        );
    }

    #[test]
    fn every_other_line_is_handed_back_untouched() {
        let image = |result: Value| json!({"type": "imageGeneration", "id": "i", "result": result});
        let lines = vec![
            line(&json!({"method": "item/started", "params": {"item": image(json!("QUJD"))}})),
            line(&completed(json!({"type": "agentMessage", "id": "m", "result": "QUJD"}))),
            line(&completed(image(json!("")))),
            line(&completed(image(Value::Null))),
            line(&completed(image(json!(12)))),
            line(&completed(json!({"type": "imageGeneration", "id": "i"}))),
            line(&json!({"method": "item/completed", "params": {"item": "not an object"}})),
            line(&json!({"method": "item/completed"})),
            line(&json!({"id": 3, "result": {"item": image(json!("QUJD"))}})),
            // An escape: the ordinary parse reads it.
            br#"{"method":"item/completed","params":{"item":{"type":"imageGeneration","result":"QU\/JD"}}}"#.to_vec(),
            // Non-ASCII text is no base64; the ordinary path reports it.
            line(&completed(image(json!("QUJD\u{e9}")))),
            // A repeated key: which one wins is the ordinary parser's call.
            br#"{"method":"item/completed","params":{"item":{"type":"imageGeneration","result":"QUJD","result":"REVG"}}}"#.to_vec(),
            b"not json".to_vec(),
            br#"{"method":"item/completed","params":{"item":{"type":"imageGeneration","result":"QUJD"}}"#.to_vec(),
        ];
        for l in lines {
            assert_eq!(
                cut_image(l.clone()),
                Err(l.clone()),
                "{}",
                String::from_utf8_lossy(&l)
            );
        }
    }
}
