//! `tesla::telemetry::envelope`: the FlatBuffers envelope around every Fleet Telemetry frame.
//!
//! Every binary WebSocket frame a car sends is one FlatBuffers buffer with two tables:
//!
//! ```text
//! table Envelope {            // root
//!   txid: [ubyte];            // slot 0: chosen by the car, echoed in the ack
//!   topic: [ubyte];           // slot 1: "V", "alerts", "errors"
//!   message_type: ubyte;      // slot 2: union tag, 4 = Stream, 5 = StreamAck
//!   message: union;           // slot 3
//!   message_id: [ubyte];      // slot 4
//! }
//! table Stream {
//!   created_at: uint32;       // slot 0, epoch seconds
//!   sender_id: [ubyte];       // slot 1, "vehicle_device.<VIN>" (never trusted)
//!   payload: [ubyte];         // slot 2, the protobuf record
//!   device_type: [ubyte];     // slot 3
//!   device_id: [ubyte];       // slot 4 (never trusted)
//!   delivered_at_epoch_ms: uint64; // slot 5, set by the receiver
//! }
//! ```
//!
//! Reading is a small, safe reader: every offset is bounds-checked, so hostile bytes give an
//! [`EnvelopeError`], never a panic or an out-of-bounds read. Writing uses the `flatbuffers`
//! builder in the same call order as Tesla's Go server, so our acks and error replies are
//! byte-identical to the reference server's (cars have only ever seen those bytes).

use flatbuffers::{FlatBufferBuilder, WIPOffset};

/// Union tag of a data frame from the car.
pub const TYPE_STREAM: u8 = 4;
/// Union tag of an acknowledgement.
pub const TYPE_ACK: u8 = 5;
/// The payload of the reference server's reply to a frame it cannot decode.
pub const ERROR_PAYLOAD: &[u8] = b"incorrect message format";
/// The largest frame the reference server accepts; bigger frames get the error reply.
pub const MAX_FRAME: usize = 1_000_000;

// Vtable offsets of the fields (4 + 2 × slot).
const ENV_TXID: u16 = 4;
const ENV_TOPIC: u16 = 6;
const ENV_TYPE: u16 = 8;
const ENV_MESSAGE: u16 = 10;
const ENV_MESSAGE_ID: u16 = 12;
const STREAM_CREATED_AT: u16 = 4;
const STREAM_SENDER_ID: u16 = 6;
const STREAM_PAYLOAD: u16 = 8;
const STREAM_DEVICE_TYPE: u16 = 10;
const STREAM_DEVICE_ID: u16 = 12;
const STREAM_DELIVERED_AT: u16 = 14;

/// Why a frame is not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("frame of {0} bytes is too short for a FlatBuffers envelope")]
    TooShort(usize),
    #[error("FlatBuffers {0} points outside the frame")]
    OutOfBounds(&'static str),
    #[error("FlatBuffers {0} has an invalid vtable")]
    BadVTable(&'static str),
}

/// A decoded envelope, borrowing the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub txid: &'a [u8],
    pub topic: &'a [u8],
    pub message_id: &'a [u8],
    pub message: Message<'a>,
}

/// The envelope's union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    Stream(Stream<'a>),
    Ack,
    /// Any other tag (including 0, none): the reference server acks and drops these.
    Other(u8),
}

/// A data frame's body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream<'a> {
    pub created_at: u32,
    pub sender_id: &'a [u8],
    pub payload: &'a [u8],
    pub device_type: &'a [u8],
    pub device_id: &'a [u8],
    pub delivered_at_epoch_ms: u64,
}

/// Parses a frame. Never panics, whatever the bytes.
pub fn parse(frame: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    if frame.len() < 8 {
        return Err(EnvelopeError::TooShort(frame.len()));
    }
    let root = Table::at_uoffset(frame, 0, "root")?;
    let message_type = root.u8(ENV_TYPE, "message type")?;
    let message = match message_type {
        TYPE_STREAM => match root.table(ENV_MESSAGE, "stream")? {
            Some(stream) => Message::Stream(Stream {
                created_at: stream.u32(STREAM_CREATED_AT, "created_at")?,
                sender_id: stream.bytes(STREAM_SENDER_ID, "sender_id")?,
                payload: stream.bytes(STREAM_PAYLOAD, "payload")?,
                device_type: stream.bytes(STREAM_DEVICE_TYPE, "device_type")?,
                device_id: stream.bytes(STREAM_DEVICE_ID, "device_id")?,
                delivered_at_epoch_ms: stream.u64(STREAM_DELIVERED_AT, "delivered_at")?,
            }),
            None => Message::Stream(Stream::default()),
        },
        TYPE_ACK => Message::Ack,
        other => Message::Other(other),
    };
    Ok(Envelope {
        txid: root.bytes(ENV_TXID, "txid")?,
        topic: root.bytes(ENV_TOPIC, "topic")?,
        message_id: root.bytes(ENV_MESSAGE_ID, "message_id")?,
        message,
    })
}

/// The acknowledgement for a frame, exactly as Tesla's reference server builds it: the car's
/// txid and topic, type StreamAck, an empty message id, and an empty byte vector as the union
/// value.
pub fn ack(txid: &[u8], topic: &[u8]) -> Vec<u8> {
    let mut b = FlatBufferBuilder::with_capacity(96);
    let message = b.create_byte_string(&[]);
    envelope(&mut b, txid, topic, TYPE_ACK, message.as_union_value());
    b.finished_data().to_vec()
}

/// The reply to a frame that cannot be decoded (or is too large), as the reference server
/// builds it: a Stream envelope carrying the txid and the text `incorrect message format`.
pub fn error_reply(txid: &[u8]) -> Vec<u8> {
    let mut b = FlatBufferBuilder::with_capacity(192);
    let stream = stream(
        &mut b,
        &Stream {
            payload: ERROR_PAYLOAD,
            ..Stream::default()
        },
    );
    envelope(&mut b, txid, &[], TYPE_STREAM, stream.as_union_value());
    b.finished_data().to_vec()
}

/// A data frame as a car sends it (the simulator's cars and the tests use this).
pub fn data_frame(txid: &[u8], topic: &[u8], message_id: &[u8], body: &Stream<'_>) -> Vec<u8> {
    let mut b = FlatBufferBuilder::with_capacity(256 + body.payload.len());
    let stream = stream(&mut b, body);
    let txid = b.create_byte_string(txid);
    let topic = b.create_byte_string(topic);
    let message_id = b.create_byte_string(message_id);
    let table = b.start_table();
    b.push_slot_always(ENV_TXID, txid);
    b.push_slot_always(ENV_TOPIC, topic);
    b.push_slot(ENV_TYPE, TYPE_STREAM, 0);
    b.push_slot_always(ENV_MESSAGE, stream.as_union_value());
    b.push_slot_always(ENV_MESSAGE_ID, message_id);
    let root = b.end_table(table);
    b.finish_minimal(root);
    b.finished_data().to_vec()
}

/// Go's envelope for replies: strings created after the union value, message id always empty.
fn envelope(
    b: &mut FlatBufferBuilder<'_>,
    txid: &[u8],
    topic: &[u8],
    message_type: u8,
    message: WIPOffset<flatbuffers::UnionWIPOffset>,
) {
    let txid = b.create_byte_string(txid);
    let topic = b.create_byte_string(topic);
    let message_id = b.create_byte_string(&[]);
    let table = b.start_table();
    b.push_slot_always(ENV_TXID, txid);
    b.push_slot_always(ENV_TOPIC, topic);
    b.push_slot(ENV_TYPE, message_type, 0);
    b.push_slot_always(ENV_MESSAGE, message);
    b.push_slot_always(ENV_MESSAGE_ID, message_id);
    let root = b.end_table(table);
    b.finish_minimal(root);
}

fn stream<'b>(
    b: &mut FlatBufferBuilder<'b>,
    s: &Stream<'_>,
) -> WIPOffset<flatbuffers::TableFinishedWIPOffset> {
    let sender_id = b.create_byte_string(s.sender_id);
    let payload = b.create_byte_string(s.payload);
    let device_type = b.create_byte_string(s.device_type);
    let device_id = b.create_byte_string(s.device_id);
    let table = b.start_table();
    b.push_slot_always(STREAM_SENDER_ID, sender_id);
    b.push_slot(STREAM_CREATED_AT, s.created_at, 0);
    b.push_slot_always(STREAM_PAYLOAD, payload);
    b.push_slot_always(STREAM_DEVICE_TYPE, device_type);
    b.push_slot_always(STREAM_DEVICE_ID, device_id);
    b.push_slot(STREAM_DELIVERED_AT, s.delivered_at_epoch_ms, 0);
    b.end_table(table)
}

/// A table inside a frame whose vtable has been bounds-checked.
struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    /// The table that the uoffset at `at` points to.
    fn at_uoffset(buf: &'a [u8], at: usize, what: &'static str) -> Result<Self, EnvelopeError> {
        let pos = follow(buf, at, what)?;
        let soffset = read_u32(buf, pos).ok_or(EnvelopeError::OutOfBounds(what))? as i32;
        let vtable = (pos as i64 - soffset as i64)
            .try_into()
            .map_err(|_| EnvelopeError::OutOfBounds(what))?;
        let vtable_len = read_u16(buf, vtable).ok_or(EnvelopeError::OutOfBounds(what))? as usize;
        let table_len = read_u16(buf, vtable + 2).ok_or(EnvelopeError::OutOfBounds(what))?;
        if vtable_len < 4 || vtable_len % 2 != 0 || vtable + vtable_len > buf.len() {
            return Err(EnvelopeError::BadVTable(what));
        }
        if pos + usize::from(table_len) > buf.len() {
            return Err(EnvelopeError::OutOfBounds(what));
        }
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Where field `voffset` lives, or `None` when the field is absent (default value).
    fn field(&self, voffset: u16) -> Option<usize> {
        let voffset = usize::from(voffset);
        if voffset + 2 > self.vtable_len {
            return None;
        }
        match read_u16(self.buf, self.vtable + voffset)? {
            0 => None,
            off => Some(self.pos + usize::from(off)),
        }
    }

    fn u8(&self, voffset: u16, what: &'static str) -> Result<u8, EnvelopeError> {
        self.scalar(voffset, what, |buf, at| buf.get(at).copied())
    }

    fn u32(&self, voffset: u16, what: &'static str) -> Result<u32, EnvelopeError> {
        self.scalar(voffset, what, read_u32)
    }

    fn u64(&self, voffset: u16, what: &'static str) -> Result<u64, EnvelopeError> {
        self.scalar(voffset, what, |buf, at| {
            Some(u64::from_le_bytes(buf.get(at..at + 8)?.try_into().ok()?))
        })
    }

    fn scalar<T: Default>(
        &self,
        voffset: u16,
        what: &'static str,
        read: impl Fn(&[u8], usize) -> Option<T>,
    ) -> Result<T, EnvelopeError> {
        match self.field(voffset) {
            None => Ok(T::default()),
            Some(at) => read(self.buf, at).ok_or(EnvelopeError::OutOfBounds(what)),
        }
    }

    /// A `[ubyte]` field; absent means empty.
    fn bytes(&self, voffset: u16, what: &'static str) -> Result<&'a [u8], EnvelopeError> {
        let Some(at) = self.field(voffset) else {
            return Ok(&[]);
        };
        let start = follow(self.buf, at, what)?;
        let len = read_u32(self.buf, start).ok_or(EnvelopeError::OutOfBounds(what))? as usize;
        self.buf
            .get(start + 4..)
            .and_then(|rest| rest.get(..len))
            .ok_or(EnvelopeError::OutOfBounds(what))
    }

    fn table(&self, voffset: u16, what: &'static str) -> Result<Option<Table<'a>>, EnvelopeError> {
        self.field(voffset)
            .map(|at| Table::at_uoffset(self.buf, at, what))
            .transpose()
    }
}

/// The position a uoffset stored at `at` points to.
fn follow(buf: &[u8], at: usize, what: &'static str) -> Result<usize, EnvelopeError> {
    let off = read_u32(buf, at).ok_or(EnvelopeError::OutOfBounds(what))? as usize;
    let target = at
        .checked_add(off)
        .ok_or(EnvelopeError::OutOfBounds(what))?;
    if target >= buf.len() {
        return Err(EnvelopeError::OutOfBounds(what));
    }
    Ok(target)
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        buf.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn read_u16(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        buf.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A vehicle frame as Tesla's Go client library builds it, around [`PAYLOAD_HEX`].
    pub const FRAME_HEX: &str = concat!(
        "1400000000000e001800140010000f00080004000e0000001400000040000000",
        "000000041400000018000000050000006d73672d310000000100000056000000",
        "06000000747869642d3100001000200018001c00140010000c00040010000000",
        "f469e5cf8b01000014000000280000003800000000f15365a800000011000000",
        "35594a3345314541374b463030303030310000000e00000076656869636c655f",
        "6465766963650000710000000a0d082a12092900000000002054400a0c080412",
        "080a0633342e3739370a18081512143a1209d0d556ec2fe342401150fc1873d7",
        "9a5ec00a06080a120248050a06083b120230010a0b083a1207aa010408013001",
        "0a060826120210500a06082b12025001120b0880e2cfaa0610c0a9d33a000000",
        "2000000076656869636c655f6465766963652e35594a3345314541374b463030",
        "3030303100000000",
    );
    /// The protobuf `Payload` inside [`FRAME_HEX`].
    pub const PAYLOAD_HEX: &str = concat!(
        "0a0d082a12092900000000002054400a0c080412080a0633342e3739370a1808",
        "1512143a1209d0d556ec2fe342401150fc1873d79a5ec00a06080a120248050a",
        "06083b120230010a0b083a1207aa0104080130010a060826120210500a06082b",
        "12025001120b0880e2cfaa0610c0a9d33a",
    );
    const ACK_HEX: &str = concat!(
        "1400000000000e001800140010000f00080004000e000000140000002c000000",
        "0000000510000000140000000000000000000000010000005600000006000000",
        "747869642d3100000000000000000000",
    );
    const ERROR_HEX: &str = concat!(
        "1400000000000e001800140010000f00080004000e000000140000003c000000",
        "0000000410000000140000000000000000000000000000000000000006000000",
        "747869642d31000000000e001400000010000c00080004000e00000010000000",
        "1400000018000000340000000000000000000000000000000000000018000000",
        "696e636f7272656374206d65737361676520666f726d61740000000000000000",
        "00000000",
    );

    #[test]
    fn decodes_the_reference_vehicle_frame() {
        let frame = hex::decode(FRAME_HEX).unwrap();
        let env = parse(&frame).unwrap();
        assert_eq!(env.txid, b"txid-1");
        assert_eq!(env.topic, b"V");
        assert_eq!(env.message_id, b"msg-1");
        let Message::Stream(s) = env.message else {
            panic!("not a stream: {:?}", env.message)
        };
        assert_eq!(s.created_at, 1_700_000_000);
        assert_eq!(s.sender_id, b"vehicle_device.5YJ3E1EA7KF000001");
        assert_eq!(s.device_type, b"vehicle_device");
        assert_eq!(s.device_id, b"5YJ3E1EA7KF000001");
        assert_eq!(s.delivered_at_epoch_ms, 1_700_000_000_500);
        assert_eq!(s.payload, hex::decode(PAYLOAD_HEX).unwrap());
    }

    #[test]
    fn ack_and_error_reply_are_byte_identical_to_the_reference_server() {
        assert_eq!(hex::encode(ack(b"txid-1", b"V")), ACK_HEX);
        assert_eq!(hex::encode(error_reply(b"txid-1")), ERROR_HEX);
        assert_eq!(parse(&ack(b"txid-1", b"V")).unwrap().message, Message::Ack);
    }

    #[test]
    fn a_data_frame_is_byte_identical_to_the_reference_vehicle_frame() {
        let payload = hex::decode(PAYLOAD_HEX).unwrap();
        let body = Stream {
            created_at: 1_700_000_000,
            sender_id: b"vehicle_device.5YJ3E1EA7KF000001",
            payload: &payload,
            device_type: b"vehicle_device",
            device_id: b"5YJ3E1EA7KF000001",
            delivered_at_epoch_ms: 1_700_000_000_500,
        };
        assert_eq!(
            hex::encode(data_frame(b"txid-1", b"V", b"msg-1", &body)),
            FRAME_HEX
        );
    }

    #[test]
    fn a_data_frame_round_trips() {
        let body = Stream {
            created_at: 7,
            sender_id: b"vehicle_device.X",
            payload: &[1, 2, 3],
            device_type: b"vehicle_device",
            device_id: b"X",
            delivered_at_epoch_ms: 0,
        };
        let frame = data_frame(b"t", b"alerts", b"m", &body);
        let env = parse(&frame).unwrap();
        assert_eq!(env.message, Message::Stream(body));
        assert_eq!(env.topic, b"alerts");
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let frame = hex::decode(FRAME_HEX).unwrap();
        for len in 0..frame.len() {
            let _ = parse(&frame[..len]);
        }
        assert_eq!(parse(&frame[..4]), Err(EnvelopeError::TooShort(4)));
        assert!(parse(&frame[..100]).is_err());
        for i in 0..frame.len() {
            for v in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = frame.clone();
                bad[i] = v;
                let _ = parse(&bad);
            }
        }
    }
}
