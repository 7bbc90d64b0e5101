//! The bundled CJK font, so Chinese renders on machines that have none installed.
//!
//! `assets/fonts/NotoSansSC-GB2312.otf` is Noto Sans CJK SC cut down to GB2312 plus the
//! symbols the interface uses (see `scripts/make-cjk-font.py`; licence in
//! `assets/fonts/OFL.txt`). It is registered after egui's own fonts, so Latin text keeps
//! egui's look and only characters those fonts lack come from it.

use egui::FontFamily;
use egui::epaint::text::{FontData, FontInsert, FontPriority, InsertFontFamily};

pub const CJK_FONT: &[u8] = include_bytes!("../assets/fonts/NotoSansSC-GB2312.otf");

/// Adds the CJK font as the last fallback of both font families.
pub fn install(ctx: &egui::Context) {
    let families = [FontFamily::Proportional, FontFamily::Monospace]
        .into_iter()
        .map(|family| InsertFontFamily {
            family,
            priority: FontPriority::Lowest,
        })
        .collect();
    ctx.add_font(FontInsert::new(
        "noto-sans-sc-gb2312",
        FontData::from_static(CJK_FONT),
        families,
    ));
}

/// The characters a font file maps (tests use it to check the bundled font covers the UI).
#[cfg(test)]
pub fn covered_chars(font: &[u8]) -> std::collections::HashSet<char> {
    use skrifa::MetadataProvider;
    let Ok(font) = skrifa::FontRef::new(font) else {
        return Default::default();
    };
    font.charmap()
        .mappings()
        .filter_map(|(cp, _)| char::from_u32(cp))
        .collect()
}
