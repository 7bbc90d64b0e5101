//! Checksums appended to what is sent and checked on what is received: the CRCs devices use
//! (from the `crc` crate's catalogue) and the simple sums serial protocols use.
//!
//! A [`ChecksumSpec`] says which algorithm, in which byte order, over the payload from which
//! byte. Appending and verifying are pure functions of the bytes.

use serde::{Deserialize, Serialize};

/// A checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Checksum {
    /// CRC-16/MODBUS (Modbus RTU; sent low byte first).
    Crc16Modbus,
    /// CRC-16/CCITT-FALSE (the catalogue's CRC-16/IBM-3740).
    Crc16CcittFalse,
    /// CRC-16/XMODEM.
    Crc16Xmodem,
    /// CRC-16/ARC (also called CRC-16/IBM).
    Crc16Arc,
    /// CRC-32 (ISO-HDLC: zip, Ethernet, PNG).
    Crc32,
    /// CRC-8 (the catalogue's CRC-8/SMBUS: polynomial 0x07, no reflection).
    Crc8,
    /// XOR of every byte (BCC).
    Xor,
    /// Sum of every byte, modulo 256.
    Sum8,
    /// Longitudinal redundancy check: the two's complement of the 8-bit sum (Modbus ASCII).
    Lrc,
}

/// The order a multi-byte checksum goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ByteOrder {
    /// Most significant byte first.
    Big,
    /// Least significant byte first.
    Little,
}

const CRC16_MODBUS: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);
const CRC16_CCITT_FALSE: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);
const CRC16_XMODEM: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);
const CRC16_ARC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_ARC);
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
const CRC8: crc::Crc<u8> = crc::Crc::<u8>::new(&crc::CRC_8_SMBUS);

impl Checksum {
    /// Every algorithm, in the order a picker lists them.
    pub const ALL: [Checksum; 9] = [
        Checksum::Crc16Modbus,
        Checksum::Crc16CcittFalse,
        Checksum::Crc16Xmodem,
        Checksum::Crc16Arc,
        Checksum::Crc32,
        Checksum::Crc8,
        Checksum::Xor,
        Checksum::Sum8,
        Checksum::Lrc,
    ];

    /// The name on the command line and in files (`--checksum crc16-modbus`).
    pub fn name(self) -> &'static str {
        match self {
            Checksum::Crc16Modbus => "crc16-modbus",
            Checksum::Crc16CcittFalse => "crc16-ccitt-false",
            Checksum::Crc16Xmodem => "crc16-xmodem",
            Checksum::Crc16Arc => "crc16-arc",
            Checksum::Crc32 => "crc32",
            Checksum::Crc8 => "crc8",
            Checksum::Xor => "xor",
            Checksum::Sum8 => "sum8",
            Checksum::Lrc => "lrc",
        }
    }

    /// The algorithm a name stands for, in any case.
    pub fn from_name(name: &str) -> Option<Checksum> {
        let name = name.trim().to_ascii_lowercase();
        Checksum::ALL.into_iter().find(|c| c.name() == name)
    }

    /// How people write it (the same in both languages).
    pub fn label(self) -> &'static str {
        match self {
            Checksum::Crc16Modbus => "CRC-16/MODBUS",
            Checksum::Crc16CcittFalse => "CRC-16/CCITT-FALSE",
            Checksum::Crc16Xmodem => "CRC-16/XMODEM",
            Checksum::Crc16Arc => "CRC-16/ARC",
            Checksum::Crc32 => "CRC-32",
            Checksum::Crc8 => "CRC-8",
            Checksum::Xor => "XOR (BCC)",
            Checksum::Sum8 => "SUM-8",
            Checksum::Lrc => "LRC",
        }
    }

    /// Bytes it takes on the wire.
    pub fn width(self) -> usize {
        match self {
            Checksum::Crc16Modbus
            | Checksum::Crc16CcittFalse
            | Checksum::Crc16Xmodem
            | Checksum::Crc16Arc => 2,
            Checksum::Crc32 => 4,
            Checksum::Crc8 | Checksum::Xor | Checksum::Sum8 | Checksum::Lrc => 1,
        }
    }

    /// The order its users expect: Modbus RTU sends its CRC low byte first; the others are
    /// written most significant byte first.
    pub fn default_order(self) -> ByteOrder {
        match self {
            Checksum::Crc16Modbus => ByteOrder::Little,
            _ => ByteOrder::Big,
        }
    }

    /// The checksum of `data`.
    pub fn compute(self, data: &[u8]) -> u32 {
        match self {
            Checksum::Crc16Modbus => u32::from(CRC16_MODBUS.checksum(data)),
            Checksum::Crc16CcittFalse => u32::from(CRC16_CCITT_FALSE.checksum(data)),
            Checksum::Crc16Xmodem => u32::from(CRC16_XMODEM.checksum(data)),
            Checksum::Crc16Arc => u32::from(CRC16_ARC.checksum(data)),
            Checksum::Crc32 => CRC32.checksum(data),
            Checksum::Crc8 => u32::from(CRC8.checksum(data)),
            Checksum::Xor => u32::from(data.iter().fold(0u8, |a, b| a ^ b)),
            Checksum::Sum8 => u32::from(data.iter().fold(0u8, |a, b| a.wrapping_add(*b))),
            Checksum::Lrc => u32::from(
                data.iter()
                    .fold(0u8, |a, b| a.wrapping_add(*b))
                    .wrapping_neg(),
            ),
        }
    }

    /// The catalogue's check value: the checksum of the ASCII digits "123456789".
    pub fn check_value(self) -> u32 {
        match self {
            Checksum::Crc16Modbus => u32::from(crc::CRC_16_MODBUS.check),
            Checksum::Crc16CcittFalse => u32::from(crc::CRC_16_IBM_3740.check),
            Checksum::Crc16Xmodem => u32::from(crc::CRC_16_XMODEM.check),
            Checksum::Crc16Arc => u32::from(crc::CRC_16_ARC.check),
            Checksum::Crc32 => crc::CRC_32_ISO_HDLC.check,
            Checksum::Crc8 => u32::from(crc::CRC_8_SMBUS.check),
            // Not in the catalogue: worked out by hand ('1'..'9' are 0x31..0x39).
            Checksum::Xor => 0x31,
            Checksum::Sum8 => 0xDD,
            Checksum::Lrc => 0x23,
        }
    }
}

/// A checksum as a payload carries it: the algorithm, its byte order, and the first byte it
/// covers (a header before it is left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChecksumSpec {
    pub algo: Checksum,
    pub order: ByteOrder,
    /// The checksum covers the payload from this byte on.
    #[serde(default)]
    pub from: usize,
}

impl ChecksumSpec {
    /// The algorithm in the order its users expect, over the whole payload.
    pub fn new(algo: Checksum) -> Self {
        Self {
            algo,
            order: algo.default_order(),
            from: 0,
        }
    }

    /// The checksum's bytes for `payload`, in order.
    pub fn bytes(&self, payload: &[u8]) -> Vec<u8> {
        let covered = payload.get(self.from..).unwrap_or(&[]);
        let value = self.algo.compute(covered);
        let width = self.algo.width();
        let be = value.to_be_bytes();
        let mut out = be[4 - width..].to_vec();
        if self.order == ByteOrder::Little {
            out.reverse();
        }
        out
    }

    /// `payload` with its checksum appended.
    pub fn append(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = payload.to_vec();
        out.extend(self.bytes(payload));
        out
    }

    /// Checks a received message whose last bytes are the checksum.
    pub fn verify(&self, message: &[u8]) -> Verdict {
        let width = self.algo.width();
        if message.len() < width + self.from {
            return Verdict::TooShort { len: message.len() };
        }
        let (body, found) = message.split_at(message.len() - width);
        let expected = self.bytes(body);
        if expected == found {
            Verdict::Ok
        } else {
            Verdict::Wrong {
                expected,
                found: found.to_vec(),
            }
        }
    }
}

/// What checking a received message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// The checksum in the message is not the one its bytes have.
    Wrong {
        expected: Vec<u8>,
        found: Vec<u8>,
    },
    /// Too short to carry the checksum.
    TooShort {
        len: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_gives_its_check_value() {
        for algo in Checksum::ALL {
            assert_eq!(
                algo.compute(b"123456789"),
                algo.check_value(),
                "{}",
                algo.label()
            );
        }
        // The catalogue's values, written out, so a wrong catalogue entry shows too.
        let known: [(Checksum, u32); 9] = [
            (Checksum::Crc16Modbus, 0x4B37),
            (Checksum::Crc16CcittFalse, 0x29B1),
            (Checksum::Crc16Xmodem, 0x31C3),
            (Checksum::Crc16Arc, 0xBB3D),
            (Checksum::Crc32, 0xCBF4_3926),
            (Checksum::Crc8, 0xF4),
            (Checksum::Xor, 0x31),
            (Checksum::Sum8, 0xDD),
            (Checksum::Lrc, 0x23),
        ];
        for (algo, value) in known {
            assert_eq!(algo.compute(b"123456789"), value, "{}", algo.label());
        }
    }

    #[test]
    fn names_round_trip() {
        for algo in Checksum::ALL {
            assert_eq!(Checksum::from_name(algo.name()), Some(algo));
            assert_eq!(Checksum::from_name(&algo.name().to_uppercase()), Some(algo));
        }
        assert_eq!(Checksum::from_name("crc64"), None);
    }

    #[test]
    fn modbus_goes_low_byte_first() {
        // Read holding registers: unit 1, function 3, address 0, count 10 → CRC C5CD, sent
        // CD C5 (the frame every Modbus manual shows: 01 03 00 00 00 0A C5 CD).
        let request = [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A];
        let spec = ChecksumSpec::new(Checksum::Crc16Modbus);
        assert_eq!(spec.bytes(&request), [0xC5, 0xCD]);
        assert_eq!(
            spec.append(&request),
            [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]
        );
        let big = ChecksumSpec {
            order: ByteOrder::Big,
            ..spec
        };
        assert_eq!(big.bytes(&request), [0xCD, 0xC5]);
    }

    #[test]
    fn a_header_can_be_left_out() {
        let spec = ChecksumSpec {
            from: 2,
            ..ChecksumSpec::new(Checksum::Sum8)
        };
        assert_eq!(spec.bytes(&[0xAA, 0x55, 1, 2, 3]), [6]);
        // Shorter than the header: the checksum of nothing.
        assert_eq!(spec.bytes(&[0xAA]), [0]);
    }

    #[test]
    fn verify_says_ok_wrong_or_too_short() {
        let spec = ChecksumSpec::new(Checksum::Crc32);
        let good = spec.append(b"hello");
        assert_eq!(spec.verify(&good), Verdict::Ok);
        let mut bad = good.clone();
        bad[1] ^= 0x20;
        match spec.verify(&bad) {
            Verdict::Wrong { expected, found } => {
                assert_eq!(found, good[5..]);
                assert_ne!(expected, found);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(spec.verify(&[1, 2]), Verdict::TooShort { len: 2 });
    }
}
