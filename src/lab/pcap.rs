//! The lab's record as pcapng, for Wireshark: one Enhanced Packet Block per packet as it
//! entered the wire, and for a corrupted one a second block as it was delivered; each block
//! carries a comment naming its fate. Raw IPv4 link type, microsecond timestamps.

use super::{Dir, Fate, PacketRecord};

/// LINKTYPE_RAW: the packet begins with its IP header.
const LINKTYPE_RAW: u16 = 101;

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    pad4(out);
}

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let len = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&len.to_le_bytes());
}

fn packet(out: &mut Vec<u8>, t_us: u64, data: &[u8], original: usize, comment: &str) {
    let mut body = Vec::new();
    body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
    body.extend_from_slice(&((t_us >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(t_us as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(original.max(data.len()) as u32).to_le_bytes());
    body.extend_from_slice(data);
    pad4(&mut body);
    option(&mut body, 1, comment.as_bytes()); // opt_comment
    option(&mut body, 0, &[]); // opt_endofopt
    block(out, 6, &body);
}

/// The comment of a packet's block.
fn comment(p: &PacketRecord, delivered: bool) -> String {
    let dir = match p.dir {
        Dir::C2S => "client to server",
        Dir::S2C => "server to client",
    };
    let fate = match (p.fate, delivered) {
        (Fate::Delivered { .. }, _) => "delivered",
        (Fate::Lost, _) => "lost on the wire",
        (Fate::Dropped, _) => "dropped by hand",
        (Fate::QueueFull, _) => "dropped: the bottleneck's queue was full",
        (Fate::Corrupted { .. }, false) => "corrupted on the wire (as sent)",
        (Fate::Corrupted { .. }, true) => "corrupted on the wire (as delivered: bad checksum)",
        (Fate::Duplicated { .. }, _) => "duplicated: delivered twice",
        (Fate::Reordered { .. }, _) => "reordered: held back, later packets overtook it",
        (Fate::Delayed { .. }, _) => "delayed by hand",
        (Fate::Held, _) => "held on the wire",
    };
    let injected = if p.injected {
        ", put on the wire by the lab"
    } else {
        ""
    };
    let resent = if p.retransmission {
        ", retransmission"
    } else if p.zero_window_probe {
        ", zero-window probe"
    } else {
        ""
    };
    format!("#{} {dir}: {fate}{resent}{injected}", p.id)
}

/// The packets as a pcapng file.
pub fn to_pcapng<'a>(packets: impl IntoIterator<Item = &'a PacketRecord>) -> Vec<u8> {
    let mut out = Vec::new();
    // Section Header Block: byte-order magic, version 1.0, section length unknown.
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    option(&mut shb, 4, b"Socket Workbench lab"); // shb_userappl
    option(&mut shb, 0, &[]);
    block(&mut out, 0x0A0D_0D0A, &shb);
    // Interface Description Block: raw IP, microseconds (if_tsresol 6, the default).
    let mut idb = Vec::new();
    idb.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65_535u32.to_le_bytes());
    option(&mut idb, 2, b"lab wire"); // if_name
    option(&mut idb, 9, &[6]); // if_tsresol: 10^-6 s
    option(&mut idb, 0, &[]);
    block(&mut out, 1, &idb);
    for p in packets {
        packet(&mut out, p.t_us, &p.data, p.bytes, &comment(p, false));
        if let (Fate::Corrupted { at_us }, Some(bad)) = (p.fate, &p.delivered) {
            packet(&mut out, at_us, bad, p.bytes, &comment(p, true));
        }
    }
    out
}
