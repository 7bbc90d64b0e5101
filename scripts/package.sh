#!/usr/bin/env bash
# Writes what a teacher downloads into dist/:
#   socket-workbench-VERSION-windows-x86_64.zip   the .exe, a short README (English and
#                                                 Chinese), the licences
#   socket-workbench_VERSION_amd64.deb            Linux: the binary, a desktop entry, the icon
#
#   bash scripts/package.sh            # both
#   ONLY=deb bash scripts/package.sh   # or ONLY=windows
#
# The Windows .exe is cross-built here exactly as scripts/windows-smoke.sh builds it (Debian's
# rustc-web with -Zbuild-std and the MinGW linker; installed when missing). The .deb is laid
# out by hand and packed with dpkg-deb, which every Debian system has: nothing to install or
# compile (cargo-deb would do the same from Cargo.toml metadata, at the cost of building it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p dist
only=${ONLY:-}

if [ -z "$only" ] || [ "$only" = windows ]; then
    triple=x86_64-pc-windows-gnu
    tdir=${WIN_TARGET_DIR:-$root/target/windows}
    pkgs=()
    [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ] || pkgs+=(rustc-web cargo-web rust-web-src)
    command -v x86_64-w64-mingw32-gcc >/dev/null || pkgs+=(gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64)
    if [ ${#pkgs[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -q "${pkgs[@]}" >/dev/null
    fi
    RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
        /usr/bin/cargo build --release --bin socket-workbench \
        -Zbuild-std=std,panic_abort,panic_unwind --target $triple --target-dir "$tdir"
    stage=$(mktemp -d)
    name=socket-workbench-$version-windows-x86_64
    mkdir -p "$stage/$name/licenses"
    cp "$tdir/$triple/release/socket-workbench.exe" "$stage/$name/"
    x86_64-w64-mingw32-strip "$stage/$name/socket-workbench.exe" 2>/dev/null || true
    cp assets/licenses/LICENSE-MIT assets/licenses/LICENSE-APACHE "$stage/$name/licenses/"
    cp assets/fonts/OFL.txt "$stage/$name/licenses/OFL-NotoSansSC.txt"
    # Windows' Notepad reads UTF-8 with a byte-order mark, and wants CRLF.
    python3 - "$stage/$name/README.txt" "$version" <<'PY'
import sys
path, version = sys.argv[1], sys.argv[2]
text = f"""Socket Workbench {version} for Windows
=====================================

Double-click socket-workbench.exe. Nothing to install; Windows 10 or 11, 64-bit.
The first time, Windows Defender SmartScreen may say "Windows protected your PC":
click "More info", then "Run anyway". When you start a server, Windows Firewall asks
whether to allow it: allow "Private networks" so students on the classroom LAN can connect.

The language follows Windows (Chinese on a Chinese Windows, with GBK text, the lesson's);
change it in the top bar. Settings are kept in %APPDATA%\\socket-workbench\\data.

Teacher's shortcuts (add them to a desktop shortcut's "Target"):
  socket-workbench.exe --listen 0.0.0.0:7890            opens the TCP server, listening
  socket-workbench.exe --lang zh --connect 192.168.1.10:7890
  socket-workbench.exe --serve C:\\lesson --listen 0.0.0.0:7891
The same program works from a Command Prompt: socket-workbench.exe --help

Licence: MIT or Apache-2.0 (licenses\\). The Chinese font is Noto Sans SC (SIL OFL).


Socket Workbench {version}（Windows 版）
=====================================

双击 socket-workbench.exe 即可运行，无需安装；适用于 64 位 Windows 10 或 11。
首次运行时，Windows Defender SmartScreen 可能提示“Windows 已保护你的电脑”：
点击“更多信息”，再点击“仍要运行”。启动服务器时，Windows 防火墙会询问是否允许：
请允许“专用网络”，这样教室局域网里的学生才能连接。

界面语言跟随 Windows（中文 Windows 上为中文，文本编码为课程使用的 GBK），
可在顶栏更改。设置保存在 %APPDATA%\\socket-workbench\\data。

教师快捷方式（填入桌面快捷方式的“目标”）：
  socket-workbench.exe --listen 0.0.0.0:7890            打开 TCP 服务器并开始监听
  socket-workbench.exe --lang zh --connect 192.168.1.10:7890
  socket-workbench.exe --serve C:\\lesson --listen 0.0.0.0:7891
也可以在命令提示符中使用：socket-workbench.exe --help

许可证：MIT 或 Apache-2.0（见 licenses\\）。中文字体为 Noto Sans SC（SIL OFL）。
"""
with open(path, "w", encoding="utf-8-sig", newline="\r\n") as f:
    f.write(text)
PY
    rm -f "dist/$name.zip"
    (cd "$stage" && python3 -m zipfile -c "$root/dist/$name.zip" "$name")
    rm -rf "$stage"
    echo "package: dist/$name.zip"
fi

if [ -z "$only" ] || [ "$only" = deb ]; then
    cargo build --release --bin socket-workbench
    stage=$(mktemp -d)
    pkg=$stage/pkg
    install -Dm755 target/release/socket-workbench "$pkg/usr/bin/socket-workbench"
    strip "$pkg/usr/bin/socket-workbench" 2>/dev/null || true
    install -Dm644 assets/icon.png "$pkg/usr/share/icons/hicolor/256x256/apps/socket-workbench.png"
    install -d "$pkg/usr/share/applications" "$pkg/usr/share/doc/socket-workbench" "$pkg/DEBIAN"
    cat >"$pkg/usr/share/applications/socket-workbench.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=Socket Workbench
Name[zh_CN]=套接字工作台
GenericName=TCP and UDP socket tool
GenericName[zh_CN]=TCP 与 UDP 套接字工具
Comment=TCP client and server, UDP, file transfer, with every socket call shown
Comment[zh_CN]=TCP 客户端与服务器、UDP、文件传输，显示每一次套接字调用
Exec=socket-workbench
Icon=socket-workbench
Terminal=false
Categories=Network;Development;Education;
Keywords=socket;tcp;udp;network;netassist;
DESKTOP
    {
        echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
        echo "Upstream-Name: socket-workbench"
        echo
        echo "Files: *"
        echo "License: MIT or Apache-2.0"
        echo
        echo "Files: assets/fonts/*"
        echo "License: OFL-1.1"
        echo
        cat assets/licenses/LICENSE-MIT
    } >"$pkg/usr/share/doc/socket-workbench/copyright"
    size=$(du -sk "$pkg/usr" | cut -f1)
    cat >"$pkg/DEBIAN/control" <<CONTROL
Package: socket-workbench
Version: $version
Section: net
Priority: optional
Architecture: amd64
Installed-Size: $size
Depends: libc6, libgl1, libxkbcommon0
Recommends: libgl1-mesa-dri, libxkbcommon-x11-0, libxcursor1, libxi6
Maintainer: Socket Workbench developers <noreply@invalid>
Description: point-and-click TCP and UDP sockets for teaching and debugging
 TCP client and server, UDP with broadcast and multicast, a file server and
 downloader, and the lesson's socket calls and TCP states drawn live, in
 English and Simplified Chinese. The same engines run from the command line.
CONTROL
    deb=dist/socket-workbench_${version}_amd64.deb
    dpkg-deb --root-owner-group --build "$pkg" "$deb" >/dev/null
    rm -rf "$stage"
    echo "package: $deb"
fi
