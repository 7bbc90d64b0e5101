//! Every string a user sees, in English and Simplified Chinese.
//!
//! Strings are keys of [`Msg`]; the `messages!` table below requires both languages for every
//! key, so a missing translation does not compile, and the tests check that none is left empty
//! or untranslated. Placeholders are written `{name}` and filled by [`Lang::fmt`]. Socket call
//! names (`connect()`, `recv()`) are code and stay as they are in both languages.

use std::fmt::Display;

use serde::{Deserialize, Serialize};

use crate::net::check::{CheckConfig, CheckKind, Ending, Verdict};
use crate::net::check_files::{Fetch, FilesCheck, FilesVerdict};
use crate::net::load::{LoadError, Report as LoadReport, Sample as LoadSample};
use crate::net::sys::FileLimit;
use crate::net::tcp_server::{ClientEnd, KickHow};
use crate::net::{CallKind, CallOutcome, NetError, NetErrorKind};
use crate::proto::{PayloadError, hex::HexErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The language's own name, as shown in the language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "简体中文",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Lang::En),
            "zh" | "zh-cn" | "zh_cn" | "cn" | "chinese" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The language for a system locale (`zh-CN`, `zh_TW.UTF-8`, `en-US`, ...): any `zh*`
    /// is Chinese, anything else (or none) English.
    pub fn from_locale(locale: Option<&str>) -> Self {
        match locale {
            Some(l) if l.trim().to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }

    pub fn t(self, msg: Msg) -> &'static str {
        match self {
            Lang::En => msg.en(),
            Lang::Zh => msg.zh(),
        }
    }

    /// The message with each `{name}` replaced by its value.
    pub fn fmt(self, msg: Msg, args: &[(&str, &dyn Display)]) -> String {
        let mut out = self.t(msg).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), &value.to_string());
        }
        out
    }
}

macro_rules! messages {
    ($($key:ident => $en:literal, $zh:literal;)*) => {
        /// A user-visible string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg { $($key,)* }

        impl Msg {
            pub const ALL: &'static [Msg] = &[$(Msg::$key,)*];

            pub fn en(self) -> &'static str {
                match self { $(Msg::$key => $en,)* }
            }

            pub fn zh(self) -> &'static str {
                match self { $(Msg::$key => $zh,)* }
            }
        }
    };
}

messages! {
    TabLesson => "Lesson", "课堂演示";
    SwitchOn => "on", "开";
    SwitchOff => "off", "关";
    KernelShort => "{state} · RTT {rtt} ms · cwnd {cwnd}", "{state} · RTT {rtt} 毫秒 · 拥塞窗口 {cwnd}";
    PlotThroughput => "Throughput", "吞吐量";
    PlotThroughputOf => "Throughput of {client} (the selected client, else the newest)", "{client} 的吞吐量（所选客户端，未选则为最新的）";
    PlotEmpty => "Nothing sent or received yet.", "还没有发送或接收数据。";
    PlotSeconds => "seconds", "秒";
    PlotRx => "received, bytes/s", "接收（字节/秒）";
    PlotTx => "sent, bytes/s", "发送（字节/秒）";
    PlotRtt => "RTT, ms (kernel)", "往返时间，毫秒（内核）";
    PlotCwnd => "congestion window, segments (kernel)", "拥塞窗口，报文段（内核）";
    ViewCalls => "List", "列表";
    ViewDiagram => "Diagram", "时序图";
    DiagramPickClient => "Select one client to see its connection's diagram.", "选择一个客户端以查看其连接的时序图。";
    OutcomeKernel => "new state, read from the kernel", "新状态（从内核读取）";
    KernelLine => "kernel: {state} · RTT {rtt} ms · cwnd {cwnd} · unacked {unacked} · retransmitted {retrans} · bytes acked {acked}", "内核：{state} · RTT {rtt} 毫秒 · 拥塞窗口 {cwnd} · 未确认 {unacked} · 重传 {retrans} · 已确认字节 {acked}";
    KernelAfterClose => "kernel, after close: {state}", "内核（关闭之后）：{state}";
    KernelUnavailable => "kernel: TCP state is not available on this system (Linux, Windows 10 and macOS report it)", "内核：此系统无法读取 TCP 状态（Linux、Windows 10 和 macOS 可以读取）";
    KernelHint => "Read from the kernel (TCP_INFO and socket diagnostics), without privileges; nothing here is guessed", "从内核读取（TCP_INFO 和套接字诊断接口），无需特权；这里没有任何猜测";
    LessonScenarios => "Scenarios", "场景";
    LessonStepMode => "Step mode", "单步模式";
    LessonRun => "Run", "运行";
    LessonRunning => "Running…", "正在运行…";
    LessonPickScenario => "Pick a scenario: each runs on this machine (loopback), draws its diagram and explains what happened.", "选择一个场景：每个场景都在本机（回环地址）上运行，画出时序图，并解释发生了什么。";
    LessonExportSvg => "Export SVG", "导出 SVG";
    LessonExportPng => "Export PNG", "导出 PNG";
    LessonExportPngHint => "The diagram as it is on screen (SVG has the whole of it)", "导出屏幕上显示的时序图（SVG 包含完整内容）";
    LessonExportPath => "Diagram file", "时序图文件";
    LessonExported => "Saved {path}", "已保存 {path}";
    TabLab => "Lab", "实验室";
    LabTitleHandshake => "Three-way handshake", "三次握手";
    LabTitleOldSyn => "Why three steps: an old SYN", "为什么是三次：旧的 SYN";
    LabTitleAcks => "Acknowledgements", "确认应答";
    LabTitleTimeout => "Retransmission on timeout", "超时重传";
    LabTitleFast => "Fast retransmit", "快速重传";
    LabTitleChecksum => "Checksums", "校验和（错误校验）";
    LabTitleFlow => "Flow control", "流量控制";
    LabTitleCongestion => "Congestion control", "拥塞控制";
    LabTitleClose => "Four-way close, TIME-WAIT", "四次挥手与 TIME-WAIT";
    LabTitleReorder => "Reordering", "乱序";
    LabTitleUdpLoss => "UDP with loss", "有丢包的 UDP";
    LabExplainHandshake => "The client's SYN carries its initial sequence number (ISN); the server answers SYN+ACK with its own ISN and acknowledges ISN+1; the client's ACK completes it. Numbers are relative, as Wireshark shows them: each side starts at 0.", "客户端的 SYN 携带它的初始序号（ISN）；服务器回复 SYN+ACK，带上自己的 ISN，并确认 ISN+1；客户端的 ACK 完成握手。序号是相对的（与 Wireshark 一样）：每一方都从 0 开始。";
    LabExplainOldSyn => "A SYN left over from an earlier attempt reaches the server late (the lab puts it on the wire). Watch the client refuse the connection it never asked for, then open its own.", "一个早先连接尝试遗留的 SYN 迟到了（由实验室放到线路上）。看客户端如何拒绝它从未请求的连接，然后建立自己的连接。";
    LabExplainAcks => "The server acknowledges with the next byte it expects. A lone segment's ACK is delayed; segments that come together share one ACK.", "服务器用它期望的下一个字节序号来确认。单个报文段的 ACK 被延迟；一起到达的报文段共用一个 ACK。";
    LabExplainTimeout => "The wire loses the first data segment and then its first resend. Watch the retransmission timer: 1 s, then 2 s.", "线路丢掉第一个数据报文段，然后又丢掉它的第一次重传。观察重传计时器：1 秒，然后 2 秒。";
    LabExplainFast => "One segment of many is lost. Each later segment makes the receiver repeat its ACK; after three duplicates the sender resends at once, without waiting for the timer.", "许多报文段中丢了一个。之后每个报文段都让接收方重复它的 ACK；收到三个重复 ACK 后，发送方立即重传，不等计时器。";
    LabExplainChecksum => "One byte of a segment is flipped on the wire: the receiver's checksum check fails and it drops the segment without a word; the sender's timer repairs it. Then the same for a UDP datagram: nothing repairs it.", "线路翻转了报文段中的一个字节：接收方校验和检查失败，默默丢弃；发送方的计时器弥补了它。然后对 UDP 数据报做同样的事：没有任何机制弥补。";
    LabExplainFlow => "The server's application stops reading. Its receive buffer (8 KiB) fills, the advertised window falls to 0 and the client stops, probing the window now and then. When the application reads again, a window update lets the data flow.", "服务器的应用程序停止读取。它的接收缓冲区（8 KiB）被填满，通告窗口降到 0，客户端停止发送，并不时探测窗口。应用程序恢复读取后，窗口更新让数据继续流动。";
    LabExplainCongestion => "1 MB through a 2 Mbit/s bottleneck with a 40 ms delay and a 20-packet queue. Watch cwnd in the chart: it doubles each round trip (slow start) until the queue overflows, falls by half, then grows by about one segment per round trip (congestion avoidance).", "1 MB 数据经过 2 Mbit/s、40 毫秒延迟、20 个分组队列的瓶颈。在图表中观察拥塞窗口：每个往返翻倍（慢启动），直到队列溢出后减半，然后每个往返大约增加一个报文段（拥塞避免）。";
    LabExplainClose => "The client closes first: FIN, ACK, then the server's FIN, ACK. The client waits in TIME-WAIT (10 s here; press Step to skip the wait). Then a new connection, and both close at once.", "客户端先关闭：FIN、ACK，然后是服务器的 FIN、ACK。客户端在 TIME-WAIT 中等待（这里是 10 秒；按“单步”跳过等待）。然后建立新连接，双方同时关闭。";
    LabExplainReorder => "One TCP segment is held back so the next ones overtake it: the receiver keeps them until the gap is filled, and the application reads everything in order. Then five UDP datagrams, one overtaken: the application gets them as they came.", "一个 TCP 报文段被延后，后面的报文段超过了它：接收方保存它们直到空缺被填上，应用程序按顺序读到所有数据。然后是五个 UDP 数据报，其中一个被超过：应用程序按到达顺序收到它们。";
    LabExplainUdpLoss => "The wire loses 20% of packets. 20 UDP datagrams: some never arrive. Then 20 TCP messages over the same wire: every byte arrives, resent as often as needed.", "线路丢失 20% 的分组。20 个 UDP 数据报：有些永远到不了。然后在同一条线路上发送 20 条 TCP 消息：每个字节都到达了，需要多少次就重传多少次。";
    LabPlay => "▶ Play", "▶ 播放";
    LabPause => "‖ Pause", "‖ 暂停";
    LabStep => "▶| Step", "▶| 单步";
    LabStepHint => "On to the next event: a packet arriving or a timer firing", "前进到下一个事件：分组到达或计时器触发";
    LabRestart => "Run again", "重新运行";
    LabSpeed => "Speed", "速度";
    LabSlower => "Slower", "更慢";
    LabFaster => "Faster", "更快";
    LabClock => "t = {t} ms", "t = {t} 毫秒";
    LabFinished => "finished", "已结束";
    LabPaused => "paused", "已暂停";
    LabPlaying => "playing", "播放中";
    LabManual => "By hand", "手动";
    LabManualHint => "An empty lab: start the applications yourself (listen, connect, send)", "空的实验室：自己操作应用程序（listen、connect、send）";
    LabPick => "Pick a scenario, or drive the applications by hand.", "选择一个场景，或手动操作应用程序。";
    LabWire => "The wire", "线路";
    LabDelay => "Delay, ms", "延迟（毫秒）";
    LabRate => "Bottleneck, kbit/s (0: none)", "瓶颈带宽 kbit/s（0：不限）";
    LabQueue => "Queue, packets", "队列（分组）";
    LabLoss => "Loss %", "丢包 %";
    LabCorrupt => "Corruption %", "损坏 %";
    LabDuplicate => "Duplication %", "重复 %";
    LabReorder => "Reordering %", "乱序 %";
    LabHold => "Hold every packet", "扣留每个分组";
    LabHoldHint => "Packets wait on the wire until you deliver them, one at a time", "分组停在线路上，直到你逐个放行";
    LabDeliverNext => "Deliver next ({n} held)", "放行下一个（扣留 {n} 个）";
    LabSeed => "Seed", "随机种子";
    LabCongestionAlgo => "Congestion algorithm", "拥塞控制算法";
    LabNextRun => "from the next run", "下次运行时生效";
    LabSelected => "Packet #{id} {label}: {fate}", "第 {id} 个分组 {label}：{fate}";
    LabDrop => "Drop", "丢弃";
    LabCorruptIt => "Corrupt", "损坏";
    LabDelayIt => "Delay +100 ms", "延迟 +100 毫秒";
    LabDuplicateIt => "Duplicate", "复制";
    LabDeliver => "Deliver", "放行";
    LabGone => "no longer on the wire", "已不在线路上";
    LabPickPacket => "Click a packet on the wire, in the diagram or in the table to select it.", "在线路、时序图或分组列表中点击一个分组来选中它。";
    LabApps => "Applications", "应用程序";
    LabSendText => "Send text", "发送文本";
    LabSendBytes => "Send bytes", "发送字节";
    LabStopReading => "Stop reading", "停止读取";
    LabResumeReading => "Resume reading", "恢复读取";
    LabEcho => "Echo what it reads", "回显读到的数据";
    LabSendTo => "sendto (UDP)", "sendto（UDP 发送）";
    LabAbort => "abort (RST)", "中止（RST）";
    LabAppLine => "{state} · read {read} B · unread {unread} B · to send {unsent} B", "{state} · 已读 {read} B · 未读 {unread} B · 待发 {unsent} B";
    LabCallBusy => "That call needs a closed socket, and this one is {state}: press Run again (or wait for it to close).", "这个调用需要已关闭的套接字，而它现在是 {state}：请按“重新运行”（或等它关闭）。";
    LabCallNotOpen => "Nothing was sent: the connection is {state}, not open for sending (connect first).", "没有发送：连接处于 {state}，不能发送（请先建立连接）。";
    LabCallDatagram => "The datagram was not sent: it is too big for the socket's buffer, or the buffer is full.", "数据报没有发送：它对套接字缓冲区来说太大，或者缓冲区已满。";
    LabViewDiagram => "Diagram", "时序图";
    LabViewChart => "Windows", "窗口";
    LabViewTable => "Packets", "分组";
    LabFindings => "What happened", "结果";
    LabWhat => "What to watch", "观察要点";
    LabCwnd => "cwnd", "拥塞窗口";
    LabInFlight => "bytes in flight", "在途字节";
    LabRwnd => "receiver's window", "接收窗口";
    LabChartNote => "The client's view, in bytes. smoltcp does not show its cwnd, so it is read off the wire: the bytes in flight at moments when nothing else held the sender back.", "客户端视角，单位为字节。smoltcp 不公开拥塞窗口，所以从线路上读出：在发送方只受拥塞窗口限制的时刻的在途字节数。";
    LabChartEmpty => "No data has been sent yet.", "还没有发送数据。";
    LabColTime => "t, ms", "时间（毫秒）";
    LabColSegment => "segment", "报文段";
    LabColFate => "fate", "结局";
    LabExportPcap => "Export pcapng", "导出 pcapng";
    LabExportHint => "For Wireshark: every packet as it entered the wire, each with a comment naming its fate", "供 Wireshark 使用：每个分组进入线路时的样子，每个都带有说明其结局的注释";
    LabNoPackets => "No packets yet.", "还没有分组。";
    LabDiagramHint => "Real segments, time downward; a long quiet stretch is cut short and marked with its length.", "真实的报文段，时间向下；较长的空闲时段被截短，并标出实际时长。";
    TabCheck => "Check", "评测";
    CheckModeServer => "Exercise 1: many clients", "练习一：多客户端";
    CheckModeFiles => "Exercise 2: file server", "练习二：文件服务器";
    CheckModeLoad => "Load", "负载测试";
    CheckWhat => "Check:", "检查：";
    CheckTarget => "Server (host:port)", "服务器（主机:端口）";
    CheckClients => "Clients", "客户端数";
    CheckMessages => "Messages each", "每个发送消息数";
    CheckExpect => "Answer must be", "回复应为";
    ExpectEcho => "the same (echo)", "原样返回（回显）";
    ExpectAny => "any reply", "任意回复";
    ExpectText => "this text", "这段文字";
    ExpectRegex => "a match of", "匹配正则表达式";
    CheckExpectValue => "Expected", "期望内容";
    CheckTimeout => "Timeout (s)", "超时（秒）";
    CheckFurther => "Further checks:", "附加检查：";
    CheckStart => "Start checking", "开始检查";
    CheckStop => "Stop", "停止";
    CheckExport => "Export report", "导出报告";
    CheckExportPath => "Report file", "报告文件";
    CheckLocalFolder => "Local folder (the same files)", "本地文件夹（相同的文件）";
    CheckResolving => "Looking up {target}…", "正在查找 {target}…";
    CheckIdle => "Point it at a student's server and press Start.", "填写学生服务器的地址，然后点击开始。";
    CheckRunning => "Checking: {check}", "正在检查：{check}";
    CheckBadTarget => "Type the server as host:port, e.g. 192.168.1.20:9000 ({err})", "请按 主机:端口 填写服务器，例如 192.168.1.20:9000（{err}）";
    CheckBadFolder => "The local folder “{dir}” does not exist.", "本地文件夹“{dir}”不存在。";
    CheckBadRegex => "Not a regular expression: {err}", "不是有效的正则表达式：{err}";
    CheckHexBytes => "hex bytes", "十六进制字节";
    CheckHexHint => "Messages as bytes, not text: every byte value from 00 to FF; a fixed reply is typed in hex (4F 4B 0A)", "消息为字节而非文字：包含 00 到 FF 的各种字节值；固定回复用十六进制填写（4F 4B 0A）";
    CheckBadHex => "The expected reply is not hex: type pairs of hex digits, e.g. 4F 4B 0A.", "期望回复不是十六进制：请填写成对的十六进制数字，例如 4F 4B 0A。";
    CheckStartDied => "The check could not start (its thread stopped). Try again.", "检查无法开始（其线程已停止）。请重试。";
    CheckNotStarted => "Could not start: {err}", "无法开始：{err}";
    FurtherConnectClose => "connect, close at once", "连接后立即关闭";
    FurtherSlow => "one byte at a time", "一次一个字节";
    FurtherBig => "64 KB in one go", "一次 64 KB";
    FurtherHalfClose => "half-close", "半关闭";
    FurtherReconnect => "leave, then reconnect", "离开后重新连接";
    CheckLegendWaiting => "waiting", "等待";
    CheckLegendConnecting => "connecting", "连接中";
    CheckLegendTalking => "talking", "通信中";
    CheckLegendDone => "all answered", "全部得到回复";
    CheckLegendFailed => "fell short", "未完成";
    CheckClientTip => "Client {c}: {state}, {answered} of {m} answered", "客户端 {c}：{state}，{m} 条中得到 {answered} 条回复";
    CheckReportWhen => "Run at {when}", "运行时间：{when}";
    CheckReportServer => "check of an exercise-1 server at {addr}", "练习一服务器检查：{addr}";
    CheckReportFiles => "check of an exercise-2 file server at {addr}, against {dir}", "练习二文件服务器检查：{addr}，对照 {dir}";
    CheckReportLoad => "load on {addr}", "对 {addr} 的负载测试";
    CheckReportSettings => "{n} clients × {m} messages; answer must be {expect}; {enc}; timeout {t} s", "{n} 个客户端 × 每个 {m} 条消息；回复应为{expect}；{enc}；超时 {t} 秒";
    CheckReportShort => "Clients that fell short:", "未完成的客户端：";
    CheckReportClient => "client {c}: {answered} of {m} answered — {how}", "客户端 {c}：{m} 条中得到 {answered} 条回复——{how}";
    CheckReportClients => "clients {c} ({n}): {answered} of {m} answered — {how}", "客户端 {c}（{n} 个）：{m} 条中得到 {answered} 条回复——{how}";
    CheckReportStopped => "Stopped before the end: the checks not run have no verdict.", "在结束前被停止：未运行的检查没有结论。";
    CheckReportLoadSettings => "{clients} {what}, {size} bytes a message, {rate}", "{clients} 个{what}，每条消息 {size} 字节，{rate}";
    CheckReportRate => "{rate} messages a second", "每秒 {rate} 条";
    CheckReportFlatOut => "flat out", "全速";
    LoadDuration => "Seconds", "时长（秒）";
    LoadDurationHint => "0: until you press Stop", "0 表示一直运行，直到点击停止";
    LoadRate => "Messages/s", "每秒消息数";
    LoadRateHint => "All clients together; 0: flat out, each client sends again as soon as it is answered", "所有客户端合计；0 表示全速：每个客户端一收到回复就再发";
    LoadSize => "Bytes a message", "每条消息字节数";
    LoadUdp => "UDP stream", "UDP 流";
    LoadAnyReply => "any reply will do", "任意回复即可";
    LoadStart => "Start load", "开始负载";
    LoadUdpNeedsRate => "A UDP stream needs a rate: set messages/s above 0.", "UDP 流需要设定速率：请把每秒消息数设为大于 0。";
    LoadUdpSize => "A UDP datagram of the load needs at least {n} bytes.", "负载用的 UDP 数据报至少需要 {n} 字节。";
    LoadUntilStopped => "runs until you press Stop", "一直运行，直到点击停止";
    PlotAnswersPerS => "answers/s", "每秒回复数";
    PlotConnected => "connected", "已连接";
    PlotP50 => "p50 round trip, ms", "往返 p50（毫秒）";
    PlotP99 => "p99 round trip, ms", "往返 p99（毫秒）";
    CheckClass => "Many clients at once ({n} clients × {m} messages)", "多个客户端同时连接（{n} 个客户端 × 每个 {m} 条消息）";
    CheckConnectClose => "A client that connects and closes at once", "连接后立即关闭的客户端";
    CheckSlow => "A slow client (one byte at a time)", "慢客户端（一次发送一个字节）";
    CheckBig => "64 KB in one go", "一次发送 64 KB";
    CheckHalfClose => "A client that half-closes and expects the server to close too", "半关闭并期望服务器也关闭的客户端";
    CheckReconnect => "Clients leave half-way, then a new one connects", "客户端中途离开，然后新客户端连接";
    CheckPassed => "passed", "通过";
    CheckFailed => "FAILED", "未通过";
    CheckSummary => "{passed} of {total} checks passed.", "{total} 项检查中通过 {passed} 项。";
    VerdictPassed => "every answer arrived and was right.", "每条回复都按时到达且正确。";
    VerdictNotListening => "nothing accepts connections there ({err}): is the server running, on this address and port?", "该地址无法连接（{err}）：服务器在运行吗？地址和端口对吗？";
    VerdictOnlyFirst => "only {served} client(s) answered; the other {waiting} connected (the backlog accepted them) but got no reply within {t} s: does your server call accept() in a loop?", "只有 {served} 个客户端得到了回复；其余 {waiting} 个已连接（被 backlog 接受），但在 {t} 秒内没有收到回复：你的服务器是否在循环中调用 accept()？";
    VerdictBacklogFull => "{n} more could not even connect: the listen() backlog was full.", "另有 {n} 个客户端连不上：listen() 的 backlog 已满。";
    VerdictNoReply => "all {n} clients connected, none got a reply within {t} s: is the server still busy with an earlier client, or does it never send?", "全部 {n} 个客户端都已连接，但在 {t} 秒内都没有收到回复：服务器是否还在忙于之前的客户端，或者从不发送？";
    VerdictFirstOnly => "every client ({n}) got its first answer, none got its second: does your server call recv() in a loop?", "每个客户端（{n} 个）都收到了第一条回复，但都没有收到第二条：你的服务器是否在循环中调用 recv()？";
    VerdictWrong => "client {c}, message {m}: sent “{sent}”, got “{got}”.", "客户端 {c} 的第 {m} 条消息：发送“{sent}”，收到“{got}”。";
    VerdictClosedEarly => "client {c}: the server closed the connection before answering message {m}.", "客户端 {c}：服务器在回复第 {m} 条消息之前关闭了连接。";
    VerdictPartial => "{answered} of {expected} answers arrived in time.", "在限定时间内只收到 {expected} 条回复中的 {answered} 条。";
    VerdictNoClose => "after the client's FIN the server did not close within {t} s: does it close the socket when recv() returns 0 (b'')?", "客户端发送 FIN 后，服务器在 {t} 秒内没有关闭：recv() 返回 0（b''）时它是否关闭了套接字？";
    VerdictStuck => "afterwards a new client was not served ({how}): did that client stop your server?", "之后新的客户端没有得到服务（{how}）：刚才那个客户端是否让你的服务器卡住或退出了？";
    EndingTimeout => "no reply in time", "超时没有回复";
    LoadLimitRaised => "open-file limit raised from {before} to {now} (hard limit {hard})", "打开文件数上限已从 {before} 提高到 {now}（硬上限 {hard}）";
    LoadLimitKept => "open-file limit {now} (hard limit {hard})", "打开文件数上限 {now}（硬上限 {hard}）";
    LoadLimitShort => "only {now} descriptors allowed: about {fit} clients can be connected at once; the rest will fail with “too many open files”", "只允许 {now} 个描述符：同时最多约 {fit} 个客户端能连接；其余会因“打开的文件过多”而失败";
    LoadLimitNone => "this system sets no per-process limit on sockets", "本系统没有对每个进程的套接字数量设上限";
    LoadLimitUnknown => "the open-file limit could not be read", "无法读取打开文件数上限";
    LoadStarted => "Load on {addr}: {clients} {what}; {limit}.", "对 {addr} 施加负载：{clients} 个{what}；{limit}。";
    LoadTcpClients => "TCP clients", "TCP 客户端";
    LoadUdpSockets => "UDP sockets", "UDP 套接字";
    LoadSample => "{t} s: {connected} connected, {rate} answers/s, round trip p50 {p50} ms, p99 {p99} ms, {errors} errors", "{t} 秒：已连接 {connected} 个，每秒 {rate} 条回复，往返 p50 {p50} 毫秒、p99 {p99} 毫秒，错误 {errors} 个";
    LoadSumClients => "Clients: {connected} of {clients} connected (at most {peak} at once).", "客户端：{clients} 个中有 {connected} 个连上（同时最多 {peak} 个）。";
    LoadSumMessages => "Messages: {answered} answered of {sent} sent in {secs} s: {rate} a second; {bytes} received a second.", "消息：{secs} 秒内发送 {sent} 条，收到回复 {answered} 条：每秒 {rate} 条；每秒接收 {bytes}。";
    LoadSumConnect => "Connect time: p50 {p50} ms, p95 {p95} ms, p99 {p99} ms, max {max} ms.", "连接耗时：p50 {p50} 毫秒，p95 {p95} 毫秒，p99 {p99} 毫秒，最大 {max} 毫秒。";
    LoadSumRtt => "Round trip: p50 {p50} ms, p95 {p95} ms, p99 {p99} ms, max {max} ms.", "往返时间：p50 {p50} 毫秒，p95 {p95} 毫秒，p99 {p99} 毫秒，最大 {max} 毫秒。";
    LoadSumNoErrors => "Errors: none.", "错误：无。";
    LoadSumErrors => "Errors: {list}.", "错误：{list}。";
    LoadSumStopped => "Stopped before its end.", "在结束前被停止。";
    LoadSumNoAnswers => "No answer came back: is it an echo server? (Try “any reply”.)", "没有收到任何回复：它是回显服务器吗？（可以试试“任意回复”。）";
    LoadErrRefused => "refused (nothing listening)", "被拒绝（没有程序在监听）";
    LoadErrConnectTimeout => "connect timed out", "连接超时";
    LoadErrReset => "reset by the server", "被服务器重置";
    LoadErrClosed => "closed by the server", "被服务器关闭";
    LoadErrReplyTimeout => "no answer in time", "超时没有回复";
    LoadErrWrongReply => "wrong answer", "回复不正确";
    LoadErrTooManyOpenFiles => "too many open files", "打开的文件过多";
    LoadErrNoLocalPort => "out of local ports", "本地端口用尽";
    LoadErrLost => "datagrams lost", "丢失的数据报";
    LoadErrOther => "other", "其他";
    EndingClosed => "the connection was closed", "连接被关闭";
    EndingWrong => "a wrong reply", "回复不正确";
    EndingNoConnection => "could not connect: {err}", "无法连接：{err}";
    FilesCheckEach => "Every file of the folder, size and BLAKE3 digest", "文件夹中的每个文件（大小与 BLAKE3 摘要）";
    FilesCheckMissing => "A name that does not exist", "一个不存在的文件名";
    FilesCheckTwo => "Two downloads at once", "同时下载两个文件";
    FilesCheckChinese => "A Chinese file name, as UTF-8 and as GBK", "中文文件名（UTF-8 与 GBK）";
    FilesCheckBig => "A file over 100 MB", "超过 100 MB 的文件";
    FilesPassed => "{n} file(s), {bytes}: every byte the same.", "{n} 个文件，{bytes}：每个字节都相同。";
    FilesPassedMissing => "the server closed without sending anything, as the lesson's server does.", "服务器什么都没发送就关闭了，与课上的服务器一致。";
    FilesNoLocal => "the local folder has no files to compare with.", "本地文件夹中没有可比较的文件。";
    FilesSkipped => "skipped: the folder has no file of this kind.", "跳过：文件夹中没有这类文件。";
    FilesFailed => "“{name}”: {how}", "文件“{name}”：{how}";
    FilesSentForMissing => "for a name that does not exist the server sent {n} bytes: “{text}” (the lesson's server sends nothing and closes; a client cannot tell this text from a file).", "对不存在的文件名，服务器发送了 {n} 字节：“{text}”（课上的服务器什么都不发就关闭；客户端无法区分这段文字和文件内容）。";
    FilesNoClose => "for a name that does not exist the server neither sent anything nor closed within {t} s.", "对不存在的文件名，服务器在 {t} 秒内既没有发送也没有关闭连接。";
    FilesChinese => "“{name}”: as UTF-8 {utf8}, as GBK {gbk}.", "文件“{name}”：UTF-8 编码时{utf8}，GBK 编码时{gbk}。";
    FilesWorks => "served", "可以下载";
    FilesNotServed => "not served", "无法下载";
    FetchNoConnection => "could not connect: {err}", "无法连接：{err}";
    FetchTruncated => "the server closed after {got} of {expected} bytes.", "服务器只发送了 {expected} 字节中的 {got} 字节就关闭了。";
    FetchTooLong => "the server sent more than the file's {expected} bytes.", "服务器发送的数据超过了文件的 {expected} 字节。";
    FetchDiffers => "the right size, but other bytes (the digests differ).", "大小正确，但内容不同（摘要不一致）。";
    FetchStalled => "nothing came for {t} s after {got} bytes.", "收到 {got} 字节后 {t} 秒内没有新数据。";
    LabUnknownScenario => "unknown lab scenario '{name}' (so far: {names})", "未知的实验场景“{name}”（目前有：{names}）";
    LabFindHandshake => "Three segments opened the connection: SYN (the client's ISN {c}), SYN+ACK (the server's ISN {s}, acknowledging {c}+1: the SYN consumes one sequence number) and ACK (acknowledging {s}+1).", "三个报文段建立了连接：SYN（客户端初始序号 {c}）、SYN+ACK（服务器初始序号 {s}，确认号 {c}+1：SYN 占用一个序号）、ACK（确认号 {s}+1）。";
    LabFindRetransmitted => "The segment at seq={seq} got no acknowledgement and was sent again {ms} ms later: the retransmission timer fired.", "seq={seq} 的报文段没有得到确认，{ms} 毫秒后被重新发送：重传计时器超时了。";
    LabFindDiscarded => "Packet #{id} arrived with a bad checksum: the receiver threw it away without a word.", "第 {id} 个分组到达时校验和错误：接收方默默丢弃了它。";
    LabFindAllArrived => "All {n} bytes reached the server's application, in order.", "全部 {n} 字节按顺序到达了服务器的应用程序。";
    LabFindOldSynAnswered => "An old SYN (seq={old}) from an earlier attempt arrived late; the server took it for a new connection and answered SYN+ACK, acknowledging {old}+1.", "一个来自早先连接尝试的旧 SYN（seq={old}）迟到了；服务器把它当成新的连接请求，回了 SYN+ACK，确认号 {old}+1。";
    LabFindClientReset => "The client had not asked for that connection: it answered the SYN+ACK with RST.", "客户端并没有请求这个连接：它用 RST 回答了这个 SYN+ACK。";
    LabFindBackToListen => "On the RST the server dropped the half-open connection and went back to LISTEN: nothing was opened.", "收到 RST 后，服务器放弃了这个半开的连接，回到 LISTEN：没有建立任何连接。";
    LabFindTwoStep => "With a two-step handshake the server would have opened a connection on the old SYN alone and waited for a client that never asked: the third step lets the client confirm, or refuse.", "如果握手只有两步，服务器仅凭这个旧 SYN 就会建立连接，等待一个根本没有请求的客户端：第三步让客户端可以确认或拒绝。";
    LabFindDelayedAck => "The ACK of a lone segment waited {ms} ms (delayed ACK: the receiver waits for a second segment, or for data to send back).", "单个报文段的 ACK 等了 {ms} 毫秒（延迟确认：接收方等待第二个报文段，或要回送的数据）。";
    LabFindCumulativeAck => "One ACK (ack={ack}) acknowledged {n} segments at once: acknowledgements are cumulative.", "一个 ACK（ack={ack}）一次确认了 {n} 个报文段：确认是累积的。";
    LabFindAckCount => "{data} data segments were acknowledged by {acks} ACKs.", "{data} 个数据报文段由 {acks} 个 ACK 确认。";
    LabFindRtoDoubled => "Lost again: the second resend waited {second} ms, the first {first} ms; the timeout doubles each time (back-off).", "再次丢失：第二次重传等了 {second} 毫秒，第一次等了 {first} 毫秒；超时时间每次翻倍（退避）。";
    LabFindDupAcks => "{n} duplicate ACKs came back, each ack={ack}: the receiver kept asking for the missing bytes.", "收到了 {n} 个重复 ACK，每个都是 ack={ack}：接收方一直在索要缺失的字节。";
    LabFindFastRetransmit => "The lost segment (seq={seq}) was resent {ms} ms after it was first sent, on the duplicate ACKs: before the retransmission timer (at least {rto} ms) fired.", "丢失的报文段（seq={seq}）在首次发送 {ms} 毫秒后因重复 ACK 被重传：早于重传计时器（至少 {rto} 毫秒）超时。";
    LabFindUdpGone => "UDP: {sent} datagrams sent, {received} received. The corrupted one failed the receiver's checksum and was thrown away; nothing sent it again.", "UDP：发送 {sent} 个数据报，收到 {received} 个。被损坏的那个没通过接收方的校验和检查而被丢弃；没有任何机制重发它。";
    LabFindZeroWindow => "At {t} ms the server's window reached 0: its application was not reading and the receive buffer was full.", "在 {t} 毫秒时服务器的窗口降到 0：它的应用程序没有读取，接收缓冲区满了。";
    LabFindProbes => "The client probed the closed window {n} times (zero-window probes), waiting longer each time.", "客户端对关闭的窗口探测了 {n} 次（零窗口探测），每次等待更久。";
    LabFindWindowUpdate => "At {t} ms the server's application read again: a window update (win={win}) reopened the window and the data flowed.", "在 {t} 毫秒时服务器的应用程序重新读取：窗口更新（win={win}）重新打开了窗口，数据继续流动。";
    LabFindSlowStart => "Slow start: the congestion window grew from {from} to {to} bytes by {t} ms, about doubling each round trip.", "慢启动：到 {t} 毫秒时拥塞窗口从 {from} 字节增长到 {to} 字节，大约每个往返翻一番。";
    LabFindQueueDrops => "The bottleneck's queue overflowed: {n} packets dropped, the first at {t} ms.", "瓶颈队列溢出：丢弃了 {n} 个分组，第一个在 {t} 毫秒。";
    LabFindWindowCut => "After the loss the congestion window fell from {before} to {after} bytes, then grew slowly again (congestion avoidance).", "丢包后拥塞窗口从 {before} 字节降到 {after} 字节，然后再次缓慢增长（拥塞避免）。";
    LabFindCompare => "The same {bytes} through the same bottleneck: Reno took {reno} ms with an average congestion window of {rw} bytes after the loss, Cubic {cubic} ms with {cw} bytes (a full bottleneck sets the pace for both).", "同样的 {bytes} 经过同样的瓶颈：Reno 用了 {reno} 毫秒，丢包后平均拥塞窗口 {rw} 字节；Cubic 用了 {cubic} 毫秒，平均 {cw} 字节（瓶颈满载时两者速度都由瓶颈决定）。";
    LabFindFourWay => "The close took {n} segments: each side sends its own FIN and the other acknowledges it (FIN, ACK, FIN, ACK).", "关闭用了 {n} 个报文段：每一方各自发送 FIN，由另一方确认（FIN、ACK、FIN、ACK）。";
    LabFindTimeWait => "The client, which closed first, stayed {ms} ms in TIME-WAIT before CLOSED (2×MSL, shortened here: smoltcp waits 10 s, Linux 60 s).", "先关闭的客户端在 TIME-WAIT 中停留了 {ms} 毫秒才进入 CLOSED（2×MSL，这里缩短了：smoltcp 等 10 秒，Linux 等 60 秒）。";
    LabFindSimultaneous => "Simultaneous close: both sides sent FIN at once; each went FIN-WAIT-1, CLOSING, TIME-WAIT.", "同时关闭：双方同时发送 FIN；各自经历 FIN-WAIT-1、CLOSING、TIME-WAIT。";
    LabFindTcpInOrder => "TCP segments arrived in the order seq={order}, yet the application read every byte in order: out-of-order data waits in the receive buffer.", "TCP 报文段按 seq={order} 的顺序到达，但应用程序按顺序读到了每个字节：乱序的数据在接收缓冲区里等待。";
    LabFindUdpAsArrived => "UDP datagrams sent as 1, 2, 3, 4, 5 reached the application as {order}: UDP delivers them as they come.", "按 1、2、3、4、5 发送的 UDP 数据报以 {order} 的顺序到达应用程序：UDP 按到达的顺序交付。";
    LabFindUdpShort => "UDP: {sent} datagrams sent, {received} received; the lost ones are gone, nothing resends them.", "UDP：发送 {sent} 个数据报，收到 {received} 个；丢失的就没了，没有任何机制重发。";
    LabFindTcpRepaired => "TCP over the same wire: all {n} bytes arrived; {r} segments were resent to repair the losses.", "同一条线路上的 TCP：全部 {n} 字节都到达了；重传了 {r} 个报文段来弥补丢失。";
    LabData => "data {n} B", "数据 {n} B";
    LabC2S => "client → server", "客户端 → 服务器";
    LabS2C => "server → client", "服务器 → 客户端";
    LabRetransmission => "retransmission", "重传";
    LabProbe => "zero-window probe", "零窗口探测";
    LabFateDelivered => "delivered", "已送达";
    LabFateLost => "lost", "丢失";
    LabFateDropped => "dropped by hand", "手动丢弃";
    LabFateQueueFull => "dropped: queue full", "丢弃：队列已满";
    LabFateCorrupted => "corrupted", "已损坏";
    LabFateDuplicated => "duplicated", "重复";
    LabFateReordered => "reordered", "乱序";
    LabFateDelayed => "delayed", "延迟";
    LabFateHeld => "held", "扣留";
    LabInjected => "put on the wire by the lab", "由实验室放到线路上";
    LabFindIncomplete => "The scenario did not get as far as it should.", "场景没有按预期进行完。";
    StepLabFailed => "The step lab could not start: {error}", "分步实验无法启动：{error}";
    LessonExportFailed => "Could not save the diagram: {err}", "无法保存图：{err}";
    LessonFailed => "The scenario could not run: {err}", "场景无法运行：{err}";
    LessonKernelUnavailable => "The kernel's TCP state cannot be read on this system: states are not shown (nothing is guessed).", "此系统无法读取内核的 TCP 状态：不显示状态（不作猜测）。";
    LessonFindings => "What happened", "结果";
    LessonWhy => "Why", "原因";
    ScenarioHandshake => "1. Handshake and four-way close", "1. 三次握手与四次挥手";
    ScenarioHalfClose => "2. Half-close", "2. 半关闭";
    ScenarioTimeWait => "3. TIME_WAIT and restarting a server", "3. TIME_WAIT 与服务器重启";
    ScenarioAbortive => "4. Abortive close (RST)", "4. 异常关闭（RST）";
    ScenarioBacklog => "5. Backlog full", "5. 连接队列已满";
    ScenarioBoundaries => "6. Message boundaries: TCP vs UDP", "6. 消息边界：TCP 与 UDP";
    ScenarioUdpLoss => "7. UDP loss", "7. UDP 丢包";
    ScenarioClosedPort => "8. UDP to a closed port", "8. UDP 发往未监听的端口";
    ExplainHandshake => "connect() returns once the kernel has exchanged SYN, SYN+ACK and ACK with the server; accept() just takes the finished connection from the queue. Data is acknowledged by the receiver's kernel. The client closed first: its FIN was acknowledged (FIN_WAIT2), the server's recv() returned 0 (CLOSE_WAIT), the server closed, and the client — the side that closed first — waits in TIME_WAIT so that late segments of this connection cannot confuse a new one.", "connect() 在内核与服务器交换 SYN、SYN+ACK、ACK 之后才返回；accept() 只是从队列里取出已经建立好的连接。数据由接收方内核确认。客户端先关闭：它的 FIN 被确认（FIN_WAIT2），服务器的 recv() 返回 0（CLOSE_WAIT），服务器随后关闭；先关闭的一方（客户端）进入 TIME_WAIT，以免这个连接迟到的报文段干扰新的连接。";
    ExplainHalfClose => "shutdown(SHUT_WR) sends a FIN but keeps the socket open for reading: the server's recv() returns 0 (\"no more questions\"), and it can still send its answer, which the client receives. TCP closes each direction separately — that is why the close takes four segments.", "shutdown(SHUT_WR) 发送 FIN，但套接字仍可读：服务器的 recv() 返回 0（“没有更多请求了”），但仍然可以发送回答，客户端照样能收到。TCP 的两个方向分别关闭——这就是关闭需要四个报文段的原因。";
    ExplainTimeWaitWindows => "Whoever closes first gets TIME_WAIT (here the server; Windows keeps it for up to 2 minutes). Windows itself lets a new server bind a port whose old connections wait in TIME_WAIT, without any option, so the restart works both ways there. On Windows SO_REUSEADDR means something else: another program may bind a port already in use and take its traffic. Servers there set SO_EXCLUSIVEADDRUSE instead, and so does this program. (Under Wine the rules are Linux's.)", "先关闭的一方进入 TIME_WAIT（这里是服务器；Windows 最长保持 2 分钟）。Windows 本身允许新的服务器绑定一个旧连接仍处于 TIME_WAIT 的端口，无需任何选项，所以在 Windows 上两种重启都能成功。在 Windows 上 SO_REUSEADDR 的含义不同：它允许另一个程序绑定已被占用的端口并抢走其数据。因此 Windows 上的服务器改用 SO_EXCLUSIVEADDRUSE，本程序也是如此。（在 Wine 下规则与 Linux 相同。）";
    ExplainTimeWait => "Whoever closes first gets TIME_WAIT (here the server). While that connection waits (up to a minute on Linux), binding its port again without SO_REUSEADDR fails with \"address in use\" — which is why servers set SO_REUSEADDR before bind(): a restarted server can listen at once.", "先关闭的一方进入 TIME_WAIT（这里是服务器）。在它等待期间（Linux 上最长一分钟），不设置 SO_REUSEADDR 再次绑定该端口会失败（“地址已被使用”）——这就是服务器在 bind() 之前设置 SO_REUSEADDR 的原因：重启的服务器可以立即监听。";
    ExplainAbortive => "With SO_LINGER on and its time set to 0 s, close() throws away anything unsent and sends RST instead of FIN. The peer's next recv() fails with \"connection reset\", and neither side goes through TIME_WAIT.", "打开 SO_LINGER 并把时间设为 0 秒后，close() 丢弃未发送的数据，发送 RST 而不是 FIN。对方下一次 recv() 失败，报“连接被重置”，双方都不经过 TIME_WAIT。";
    ExplainBacklog => "listen(1) with a server that never calls accept(): the kernel completes a couple of handshakes and queues them; once the queue is full it ignores further SYNs, so the later clients stay in SYN_SENT, retrying, until the queue has room or they time out.", "listen(1) 且服务器从不调用 accept()：内核完成少数几次握手并放入队列；队列满后就不再理会新的 SYN，所以后来的客户端停留在 SYN_SENT 状态并不断重试，直到队列有空位或超时。";
    ExplainBoundaries => "TCP is a byte stream: ten send() calls can arrive in one recv(), with or without Nagle's algorithm (TCP_NODELAY only changes when segments leave, not how the receiver reads). UDP keeps each datagram whole: ten sendto() calls, ten recvfrom() results.", "TCP 是字节流：十次 send() 可能在一次 recv() 中全部收到，无论是否启用 Nagle 算法（TCP_NODELAY 只改变报文段何时发出，不改变接收方如何读取）。UDP 保留每个数据报的边界：十次 sendto()，十次 recvfrom()。";
    ExplainUdpLoss => "The receiver's buffer is tiny and the sender fast: datagrams that do not fit are dropped by the receiver's kernel, which counts them. The sender's sendto() succeeded every time — UDP never tells it.", "接收缓冲区很小，发送方又很快：放不下的数据报被接收方内核丢弃并计数。发送方的每次 sendto() 都成功了——UDP 从不通知它。";
    ExplainClosedPort => "Nobody listens on the port. UDP sends anyway; the ICMP \"port unreachable\" that comes back is reported on a connected UDP socket's next call as \"connection refused\" (Windows says \"connection reset\"). TCP's connect() learns it at once from the RST answering its SYN.", "这个端口上没有程序在监听。UDP 照样发送；返回的 ICMP“端口不可达”会在已连接的 UDP 套接字的下一次调用中报告为“连接被拒绝”（Windows 上为“连接被重置”）。TCP 的 connect() 则通过回应 SYN 的 RST 立即得知。";
    FindTimeWait => "The {side} ended in TIME_WAIT (read from the kernel).", "{side}进入了 TIME_WAIT（从内核读取）。";
    FindNoTimeWait => "Neither side went through TIME_WAIT.", "双方都没有经过 TIME_WAIT。";
    FindDataAfterHalfClose => "After the client's shutdown, {bytes} bytes still reached it from the server.", "客户端关闭发送之后，仍然从服务器收到了 {bytes} 字节。";
    FindRebindWithout => "Restart without SO_REUSEADDR: {result}", "不设置 SO_REUSEADDR 重启：{result}";
    FindRebindWith => "Restart with {opt}: {result}", "设置 {opt} 重启：{result}";
    FindOk => "ok", "成功";
    FindReset => "The {side}'s recv() failed: connection reset.", "{side}的 recv() 失败：连接被重置。";
    FindSynSent => "{waiting} of {of} clients are stuck in SYN_SENT.", "{of} 个客户端中有 {waiting} 个停在 SYN_SENT。";
    FindTcpMerged => "TCP (TCP_NODELAY {nodelay}): {sends} sends arrived in {recvs} recv() calls.", "TCP（TCP_NODELAY {nodelay}）：{sends} 次发送在 {recvs} 次 recv() 中收到。";
    FindUdpKept => "UDP: {sent} datagrams sent, {received} received, each whole.", "UDP：发送 {sent} 个数据报，收到 {received} 个，每个都完整。";
    FindUdpLost => "{sent} sent, {received} received: {lost} never arrived, and the sender was never told. (This system does not count the kernel's drops; Linux does.)", "发送 {sent} 个，收到 {received} 个：{lost} 个没有到达，发送方毫不知情。（此系统不统计内核丢弃的数量；Linux 统计。）";
    FindUdpDropped => "{sent} sent, {received} received, {dropped} dropped by the kernel — the sender was never told.", "发送 {sent} 个，收到 {received} 个，内核丢弃 {dropped} 个——发送方毫不知情。";
    FindClosedUdp => "UDP got: {result}", "UDP 收到：{result}";
    FindClosedTcp => "TCP connect() got: {result}", "TCP connect() 收到：{result}";
    FindNoError => "no error", "没有错误";
    SideClient => "client", "客户端";
    SideServer => "server", "服务器";
    StepServer => "Server", "服务器";
    StepClient => "Client", "客户端";
    StepReset => "Start again", "重新开始";
    StepIntro => "Click the calls in the lesson's order; only calls that are legal now are enabled. Each shows what it returned, the kernel's new state and what happened on the wire.", "按课程的顺序点击各个调用；只有当前合法的调用才可点击。每一步都会显示返回值、内核的新状态以及线路上发生了什么。";
    StepState => "kernel state: {state}", "内核状态：{state}";
    StepNoState => "kernel state: —", "内核状态：—";
    StepWouldBlockAccept => "accept() would wait here: no client has connected yet. Click the client's connect() first.", "accept() 会在这里等待：还没有客户端连接。请先点击客户端的 connect()。";
    StepWouldBlockRecv => "recv() would wait here: nothing has arrived yet. Send something from the other side first.", "recv() 会在这里等待：还没有收到数据。请先从另一端发送。";
    StepExplainSocket => "socket(): the kernel creates an endpoint and returns a descriptor. Nothing is sent.", "socket()：内核创建一个端点并返回描述符。没有发送任何数据。";
    StepExplainBind => "bind(): the socket gets its local address and port (port 0: the kernel picks one). Nothing is sent.", "bind()：为套接字指定本地地址和端口（端口 0 表示由内核选择）。没有发送任何数据。";
    StepExplainListen => "listen(): the socket becomes passive (LISTEN); the kernel will now answer SYNs and queue finished handshakes.", "listen()：套接字变为被动状态（LISTEN）；内核将应答 SYN，并把完成握手的连接排入队列。";
    StepExplainAccept => "accept(): takes a finished connection from the queue and returns a new socket just for this client; the handshake already happened in the kernel.", "accept()：从队列中取出已完成的连接，返回一个只为该客户端服务的新套接字；握手早已在内核中完成。";
    StepExplainConnect => "connect(): SYN → SYN+ACK → ACK. The call returns when the three-way handshake is done (or fails: refused when nobody listens).", "connect()：SYN → SYN+ACK → ACK。三次握手完成后调用才返回（若无人监听则失败：连接被拒绝）。";
    StepExplainSend => "send(): the bytes go into the kernel's send buffer and out as a segment; the peer's kernel acknowledges them.", "send()：数据进入内核的发送缓冲区并作为报文段发出；对方内核予以确认。";
    StepExplainRecv => "recv(): copies what has arrived; 0 means the peer sent FIN (no more data will come).", "recv()：取出已到达的数据；返回 0 表示对方发送了 FIN（不会再有数据）。";
    StepExplainShutdown => "shutdown(SHUT_WR): sends FIN for our direction only; we can still receive (half-close).", "shutdown(SHUT_WR)：只为本方向发送 FIN；仍然可以接收（半关闭）。";
    StepExplainClose => "close(): releases the descriptor; if the connection is still open, FIN goes out. The side that closes first will pass through TIME_WAIT.", "close()：释放描述符；若连接仍打开，则发出 FIN。先关闭的一方将经过 TIME_WAIT。";
    ClassroomMode => "Classroom", "课堂模式";
    FrameSettings => "Settings ▼", "设置 ▼";
    FrameSettingsHint => "Show the settings again (they fold away while the socket is open)", "重新显示设置（套接字打开时设置会收起）";
    FrameFold => "Fold settings ▲", "收起设置 ▲";
    CheckExportMenu => "Export report ▼", "导出报告 ▼";
    FrameCallsHint => "Show the socket calls instead of the messages (no room for both side by side)", "显示套接字调用而不是消息（并排放不下）";
    ClientsHeadingShort => "Clients ({n}/{total})", "客户端（{n}/{total}）";
    LogOptions => "Options ▼", "选项 ▼";
    ComposerMore => "More ▼", "更多 ▼";
    ComposerMoreHint => "Format, encoding, repeat, send a file, history", "格式、编码、定时发送、发送文件、历史";
    ComposerLess => "Less ▲", "收起 ▲";
    ClientActions => "Actions ▼", "操作 ▼";
    SummaryBacklog => "backlog {n}", "等待队列 {n}";
    SummaryMaxClients => "at most {n} clients", "最多 {n} 个客户端";
    ToAllShort => "→ all ({n})", "→ 全部（{n}）";
    ToSelectedShort => "→ selected ({n})", "→ 选中的（{n}）";
    ViewMenu => "View ▼", "显示 ▼";
    ClassroomModeHint => "Large text, high contrast, full screen — for a projector at the back of a room", "大字体、高对比度、全屏——适合教室后排也能看清的投影";
    AppTitle => "Socket Workbench", "套接字工作台";
    TabTcpClient => "TCP client", "TCP 客户端";
    TabTcpServer => "TCP server", "TCP 服务器";
    TabUdp => "UDP", "UDP 通信";
    TabFileServer => "File server", "文件服务器";
    TabDownload => "Download", "文件下载";
    FilesNotServing => "Not serving", "未提供服务";
    FilesStarting => "Starting…", "正在启动…";
    FilesServing => "Serving {root} on {local}", "正在 {local} 上共享 {root}";
    ErrNoFolder => "Choose the folder to share first.", "请先选择要共享的文件夹。";
    SharedFolder => "Shared folder", "共享文件夹";
    RequestTimeout => "Request timeout", "请求超时";
    StallTimeout => "Stall timeout", "停滞超时";
    StallTimeoutHint => "A transfer to a client that reads nothing for this long is ended, so it cannot hold a place for ever", "客户端在此时间内一点也不读取，就结束对它的传输，使它不能永远占着名额";
    RequestTimeoutHint => "A client that connects and sends no file name within this time is dropped", "客户端连接后在此时间内没有发送文件名，就断开它";
    LimitTransfers => "Limit transfers", "限制同时传输数";
    NameEncoding => "Name encoding", "文件名编码";
    NameEncodingAuto => "Auto (UTF-8, else GBK)", "自动（UTF-8，否则 GBK）";
    StartServing => "Start serving", "开始共享";
    FilesProtocolHint => "— lesson clients send a file name; verified clients get size and digest too", "——课程中的客户端只发送文件名；校验模式的客户端还会收到大小和摘要";
    RequestsHeading => "Requests: {served} served, {refused} not served", "请求：已服务 {served} 个，未服务 {refused} 个";
    NoRequestsYet => "No requests yet. Start serving, then download with a client.", "还没有请求。开始共享后，用客户端下载文件。";
    ColFile => "File", "文件";
    ColSent => "Sent", "已发送";
    ColRate => "Rate", "速率";
    ListRequest => "(list of files)", "（文件列表）";
    TsWaiting => "connected; waiting for the file name", "已连接，等待文件名";
    TsQueued => "waiting for a free transfer slot", "等待空闲的传输名额";
    TsSending => "sending", "正在发送";
    TsServed => "sent in {secs} s, connection closed", "用时 {secs} 秒发送完毕，连接已关闭";
    TsListed => "listed {n} files", "列出了 {n} 个文件";
    TsNotFound => "no such file: closed without sending anything (like the lesson server)", "没有这个文件：不发送任何数据就关闭（与课程中的服务器相同）";
    TsCrowded => "dropped: too many clients were still to send a file name", "已断开：等待发送文件名的客户端过多";
    TsSilent => "sent no file name in time; dropped", "没有及时发送文件名，已断开";
    TsStopped => "not served: the server stopped", "未服务：服务器已停止";
    TsRefused => "refused ({why}): never served outside the shared folder", "已拒绝（{why}）：不会提供共享文件夹以外的内容";
    DownloadsStatus => "{running} downloads running, {n} listed", "正在下载 {running} 个，共列出 {n} 个";
    ErrNoFileName => "Type the name of the file to download.", "请输入要下载的文件名。";
    FileServer => "Server", "服务器";
    FileServerHint => "HOST:PORT of a file server: ours, or a lesson-style one a student wrote", "文件服务器的 HOST:PORT：本程序的，或学生按课程写的";
    FileName => "File name", "文件名";
    Verified => "Verified", "校验";
    VerifiedHint => "Ask for size and BLAKE3 digest first (our servers only); keeps a .part to resume. Untick to speak the lesson's protocol to a student's server.", "先获取大小和 BLAKE3 摘要（仅本程序的服务器支持），失败时保留 .part 以便继续。取消勾选可与学生写的服务器按课程协议通信。";
    ListFiles => "List files", "列出文件";
    ListFilesHint => "Ask a verified server which files it offers", "向校验模式的服务器询问有哪些文件";
    RemoteFiles => "On the server:", "服务器上的文件：";
    SaveInFolder => "Save in", "保存到";
    SaveAs => "Save as (optional)", "另存为（可选）";
    SaveAsHint => "Leave empty to save in the folder above under the file's own name", "留空则以原文件名保存到上面的文件夹";
    Overwrite => "Overwrite existing files", "覆盖已有文件";
    OverwriteHint => "Unticked: an existing file is never replaced; the download is saved as \"name (1).ext\"", "不勾选时绝不替换已有文件，下载会保存为“name (1).ext”";
    Download => "Start download", "开始下载";
    NoDownloadsYet => "No downloads yet.", "还没有下载。";
    TimeLeft => "{secs} s left", "剩余 {secs} 秒";
    DlConnecting => "connecting…", "正在连接…";
    DoneVerified => "done in {secs} s — size and BLAKE3 digest match", "{secs} 秒完成——大小和 BLAKE3 摘要一致";
    DoneLesson => "done in {secs} s (the server closed the connection)", "{secs} 秒完成（服务器关闭了连接）";
    Resume => "Resume", "继续下载";
    VerifiedTag => "verified", "校验";
    RefEmpty => "empty name", "文件名为空";
    RefTooLong => "name too long", "文件名过长";
    RefBadEncoding => "name is neither UTF-8 nor GBK", "文件名既不是 UTF-8 也不是 GBK";
    RefNul => "NUL byte in the name", "文件名中含有 NUL 字节";
    RefParentDir => "\"..\" would climb out of the folder", "“..”会越出共享文件夹";
    RefAbsolute => "absolute path", "绝对路径";
    RefBackslash => "backslash in the name", "文件名中含有反斜杠";
    RefDriveLetter => "drive letter", "盘符";
    RefReserved => "a name Windows reserves (device, stream or trailing dot)", "Windows 保留的名称（设备名、数据流或结尾的点）";
    RefOutsideFolder => "it leads outside the folder (a link?)", "它指向共享文件夹之外（符号链接？）";
    RefNotRegular => "not a regular file", "不是普通文件";
    RefMalformed => "malformed request", "请求格式错误";
    RefBusy => "server busy: too many requests are waiting", "服务器繁忙：等待中的请求过多";
    RefControlChar => "a control character (newline, tab, ...) in the name", "文件名中含有控制字符（换行、制表符等）";
    RefHardLink => "the file has other names (hard links), which may lie outside the folder", "该文件有其他名称（硬链接），可能位于共享文件夹之外";
    UdpClosed => "No socket open", "未打开套接字";
    UdpBinding => "Binding {bind}…", "正在绑定 {bind}…";
    UdpBound => "Bound to {local} — ready to send and receive datagrams", "已绑定到 {local}——可以收发数据报";
    UdpUnboundHint => "(sending without binding first picks a free port automatically)", "（不先绑定就发送时，系统会自动选择一个空闲端口）";
    UdpDropsUnavailable => "This system does not tell how many datagrams its kernel dropped (Linux does).", "此系统不提供内核丢弃数据报的计数（Linux 提供）。";
    UdpUnreachableUnavailable => "This system does not report \"port unreachable\" to an unconnected UDP socket: a datagram to a closed port vanishes without a word.", "此系统不会向未连接的 UDP 套接字报告“端口不可达”：发往关闭端口的数据报会无声无息地消失。";
    UdpDrops => "The kernel dropped {n} datagrams (receive buffer full); the senders never learn of it.", "内核丢弃了 {n} 个数据报（接收缓冲区已满）；发送方永远不会知道。";
    UdpSendingTo => "to {target}", "发往 {target}";
    LocalAddress => "Local address", "本地地址";
    RecvBuffer => "Receive buffer", "接收缓冲区";
    RecvBufferHint => "SO_RCVBUF (0 = the system's default). A small buffer shows UDP loss: datagrams that arrive while it is full are dropped, and the sender never knows.", "SO_RCVBUF（0 表示系统默认值）。缓冲区小时可以演示 UDP 丢包：缓冲区满时到达的数据报会被丢弃，发送方毫不知情。";
    Bind => "Bind", "绑定";
    CloseSocket => "Close", "关闭";
    Target => "Target", "目标";
    TargetHint => "HOST:PORT each datagram goes to: 127.0.0.1:8080, [::1]:8080, a broadcast or multicast address", "每个数据报的目的地 HOST:PORT：127.0.0.1:8080、[::1]:8080、广播或组播地址";
    BroadcastAddresses => "Broadcast addresses", "广播地址";
    BroadcastLoopback => "(this machine's loopback; stays here)", "（本机回环，不会离开本机）";
    BroadcastSubnet => "(everyone on this interface's network)", "（该网卡所在网络的所有主机）";
    BroadcastLimited => "(limited broadcast: the local network)", "（受限广播：本地网络）";
    BroadcastHint => "setsockopt(SO_BROADCAST): without it the kernel refuses to send to a broadcast address", "setsockopt(SO_BROADCAST)：不开启时，内核拒绝向广播地址发送";
    Multicast => "Multicast ({n} groups joined)", "组播（已加入 {n} 个组）";
    Group => "Group", "组地址";
    GroupHint => "A multicast group address, e.g. 239.255.0.1 (IPv4 224.0.0.0–239.255.255.255)", "组播组地址，例如 239.255.0.1（IPv4 为 224.0.0.0–239.255.255.255）";
    Interface => "Interface", "网卡";
    Join => "Join", "加入";
    TtlHint => "IP_MULTICAST_TTL: how many routers a multicast datagram may cross (1 = this network only)", "IP_MULTICAST_TTL：组播数据报最多可经过几个路由器（1 表示仅限本网络）";
    MulticastLoop => "Loopback", "本机回环";
    MulticastLoopHint => "IP_MULTICAST_LOOP: also deliver our own multicast datagrams to sockets on this machine", "IP_MULTICAST_LOOP：把本机发出的组播数据报也交给本机上的套接字";
    JoinedGroup => "{group} on {iface}", "{group}（网卡 {iface}）";
    LeaveGroup => "Leave {group}", "退出 {group}";
    PeersHeading => "Peers seen: {n}", "通信过的对端：{n}";
    PeersHint => "— click one (or a received datagram) to reply to it", "——点击某一行（或某个收到的数据报）即可回复对方";
    NoPeersYet => "No datagrams yet.", "还没有数据报。";
    ColPeer => "Peer", "对端";
    ColLastSeen => "Last seen", "最近一次";
    ToSelected => "To selected clients ({n})", "发给选中的客户端（{n}）";
    ToAll => "To all connected ({n})", "发给所有已连接的客户端（{n}）";
    ErrReplyEncoding => "The auto-reply cannot be written in the chosen encoding.", "自动回复无法用所选编码表示。";
    ErrBadRegex => "That regular expression is not valid.", "该正则表达式无效。";
    ErrBadBindAddress => "Choose an address of this machine to listen on (0.0.0.0 means all).", "请选择本机的一个地址来监听（0.0.0.0 表示全部）。";
    ErrListenPort => "The port must be a whole number from 0 to 65535 (0 lets the system choose).", "端口必须是 0 到 65535 之间的整数（0 表示由系统选择）。";
    BindAddress => "Listen on", "监听地址";
    BindAddressHint => "bind(): which of this machine's addresses accepts connections. 0.0.0.0 (or ::) means every address; 127.0.0.1 only this machine.", "bind()：本机的哪个地址接受连接。0.0.0.0（或 ::）表示所有地址；127.0.0.1 只接受本机连接。";
    ListenPortHint => "0 lets the system choose a free port; the real one is shown once listening", "0 表示由系统选择空闲端口，开始监听后会显示实际端口";
    Backlog => "Backlog", "等待队列";
    BacklogHint => "listen(backlog): how many connections may wait to be accepted (the lesson uses 128)", "listen(backlog)：最多可以有多少个连接排队等待 accept（课程中使用 128）";
    MaxClients => "Limit clients", "限制客户端数量";
    MaxClientsCount => "at most", "最多";
    StartListening => "Start listening", "开始监听";
    StopListening => "Stop", "停止";
    StudentsConnectTo => "Clients connect to:", "客户端请连接：";
    CopyAddresses => "Copy addresses", "复制地址";
    AutoReply => "Auto-reply", "自动回复";
    ReplyOff => "Off", "关闭";
    ReplyEcho => "Echo", "回显";
    ReplyFixed => "Fixed text", "固定文本";
    ReplyRules => "Rules", "规则";
    ReplyText => "Reply", "回复内容";
    ReplyEncodingNote => "(sent in {encoding}, the encoding chosen under Send data)", "（按“发送数据”中选择的 {encoding} 编码发送）";
    RuleContains => "Contains", "包含";
    RuleRegex => "Regex", "正则";
    RulePattern => "Pattern", "匹配内容";
    RuleReply => "Answer", "应答";
    Remove => "Remove", "删除";
    AddRule => "Add rule", "添加规则";
    RulesHint => "The first rule that matches answers; no match, no answer.", "按顺序匹配，第一条匹配的规则作答；都不匹配则不回复。";
    ClientsHeading => "Clients: {n} connected ({total} listed)", "客户端：已连接 {n} 个（列出 {total} 个）";
    RefusedCount => "{n} refused over the limit", "{n} 个因超出上限被拒绝";
    SelectAll => "Select all", "全选";
    SelectNone => "Select none", "全不选";
    KickGraceful => "Disconnect (FIN)", "断开（FIN）";
    KickGracefulHint => "close(): the orderly four-way close; the client's recv() returns 0", "close()：正常的四次挥手；客户端的 recv() 返回 0";
    KickAbortive => "Reset (RST)", "重置（RST）";
    KickAbortiveHint => "SO_LINGER 0 then close(): an abortive close; the client sees \"connection reset\"", "设置 SO_LINGER 0 后 close()：异常关闭；客户端会看到“连接被重置”";
    HideClosed => "Hide closed", "隐藏已关闭";
    LogOnlySelected => "Log shows only selected clients", "日志只显示选中的客户端";
    NoClientsYet => "No clients yet. Start listening, then connect a client to one of the addresses above.", "还没有客户端。开始监听后，用客户端连接上面的某个地址。";
    ColClient => "Client", "客户端";
    ColAddress => "Address", "地址";
    ColConnectedAt => "Connected at", "连接时间";
    ColIn => "In (bytes / msgs)", "收到（字节/条）";
    ColOut => "Out (bytes / msgs)", "发出（字节/条）";
    ColState => "State", "状态";
    StateConnected => "connected", "已连接";
    StatePeerClosed => "client sent FIN; closing", "客户端已发送 FIN，正在关闭";
    BindAll => "(every address)", "（所有地址）";
    BindLoopback => "(this machine only)", "（仅本机）";
    BindInterface => "(one interface)", "（某个网卡）";
    ServerStopped => "Not listening", "未监听";
    ServerStarting => "Starting on {bind}…", "正在 {bind} 上启动…";
    ServerListening => "Listening on {local} — {n} clients connected", "正在监听 {local}——已连接 {n} 个客户端";
    ServerStopping => "Stopping…", "正在停止…";
    Language => "Language", "语言";
    Theme => "Theme", "主题";
    ThemeLight => "Light", "浅色";
    ThemeDark => "Dark", "深色";
    ZoomIn => "Zoom in", "放大";
    Zoom => "Zoom", "缩放";
    ZoomOut => "Zoom out", "缩小";
    ZoomReset => "Reset zoom", "重置缩放";
    Recent => "Recent", "最近";
    RecentHint => "Pick an address you used before", "选择以前用过的地址";
    Browse => "Browse…", "浏览…";
    NoFileChosen => "No file chosen — you can also type the path.", "未选择文件——也可以直接输入路径。";
    ShowAs => "Show as", "显示为";
    ViewText => "Text", "文本";
    ViewHexDump => "Hex dump", "十六进制转储";
    DecodeAs => "Decode as", "解码为";
    ModeText => "Text", "文本";
    ModeHex => "Hex", "十六进制";
    Encoding => "Encoding", "编码";
    ShowTx => "Sent", "已发送";
    ShowRx => "Received", "已接收";
    ShowEvents => "Events", "事件";
    Filter => "Filter", "筛选";
    FilterHint => "text to find", "要查找的文本";
    Autoscroll => "Follow new entries", "跟随最新";
    AutoscrollHint => "Untick to pause scrolling and read older entries", "取消勾选可暂停滚动，查看较早的记录";
    Clear => "Clear", "清空";
    CapturingTo => "Saving received bytes to {path}", "正在把接收的数据保存到 {path}";
    StopCapture => "Stop saving", "停止保存";
    CaptureFile => "Receive to file", "接收到文件";
    StartCapture => "Start saving", "开始保存";
    CaptureHint => "Append every received byte, raw, to this file", "把收到的每个字节原样追加到这个文件";
    CaptureNeedsConnection => "Connect first: received bytes are saved while connected.", "请先连接：连接期间才会保存接收的数据。";
    FileOptions => "Save / receive to file…", "保存 / 接收到文件…";
    FileOptionsHint => "Save the log to a file, or append received bytes to a file as they arrive", "把日志保存到文件，或把收到的数据实时追加到文件";
    SaveLogTo => "Save log to", "日志保存到";
    SaveLog => "Save log", "保存日志";
    LogSaved => "Log saved to {path}", "日志已保存到 {path}";
    LogSaveFailed => "Could not save the log: {error}", "无法保存日志：{error}";
    TxCounter => "TX {bytes} in {n} messages", "发送 {bytes}，共 {n} 条";
    RxCounter => "RX {bytes} in {n} messages", "接收 {bytes}，共 {n} 条";
    TxCounterShort => "TX {bytes} · {n}", "发 {bytes} · {n} 条";
    RxCounterShort => "RX {bytes} · {n}", "收 {bytes} · {n} 条";
    ResetCounters => "Reset counters", "计数清零";
    EntriesHeld => "{n} entries ({bytes})", "共 {n} 条（{bytes}）";
    OlderDropped => "{n} older entries dropped to save memory", "为节省内存，已丢弃 {n} 条较早的记录";
    LogEmpty => "Nothing yet. Connect, then send something — both directions show up here.", "暂无内容。连接后发送数据，收发两个方向都会显示在这里。";
    Reindexing => "Re-reading the log… {pct}%", "正在重新整理日志…{pct}%";
    ClickToReply => "Click to send to {peer}", "点击后发送给 {peer}";
    CopyText => "Copy as text", "复制为文本";
    CopyHex => "Copy as hex", "复制为十六进制";
    SocketCalls => "Socket calls", "套接字调用";
    SocketCallsHint => "Each call the program makes, in order, with what it returned.", "程序依次执行的每个调用及其返回值。";
    NoCallsYet => "No calls yet.", "还没有调用。";
    DiagramTitle => "Connection sequence diagram", "连接时序图";
    DiagramClient => "Client", "客户端";
    DiagramServer => "Server", "服务器";
    DiagramPeerLane => "{role} (peer)", "{role}（对端）";
    DiagramData => "data {n} B", "数据 {n} 字节";
    DiagramLegendInferred => "dashed arrows: segments inferred from socket calls (no packets captured)", "虚线箭头：根据套接字调用推断的报文段（未抓包）";
    DiagramLegendState => "boxes: the kernel's TCP state", "方框：内核中的 TCP 状态";
    DiagramLegendCalls => "monospace: calls the program made", "等宽文字：程序执行的调用";
    DiagramEmpty => "No connection yet: connect or accept one to see the handshake.", "还没有连接：建立连接后即可看到三次握手。";
    SendHeading => "Send data", "发送数据";
    SendAs => "Send as", "发送格式";
    LineEnding => "Line ending", "行尾";
    EolNone => "None", "无";
    Message => "Message", "消息";
    TextHint => "Type text to send. {key} sends.", "输入要发送的文本，{key} 发送。";
    TextHintShort => "Enter sends", "回车发送";
    HexHint => "Hex bytes, e.g. 48 65 6C 6C 6F or 0x48,0x65", "十六进制字节，例如 48 65 6C 6C 6F 或 0x48,0x65";
    PayloadSize => "{n} bytes will be sent", "将发送 {n} 字节";
    Send => "Send", "发送";
    SendDisabledHint => "Connect first, and fix the message if it is marked red.", "请先连接；如果消息有红色标记，请先改正。";
    StartRepeat => "Start repeat", "开始定时发送";
    StopRepeat => "Stop repeat", "停止定时发送";
    RepeatRunning => "Repeating: {n} sent", "定时发送中：已发 {n} 次";
    RepeatEvery => "Repeat every", "间隔";
    RepeatTimes => "times", "次数";
    RepeatTimesHint => "0 = until stopped", "0 表示一直发送直到停止";
    FileToSend => "File", "文件";
    SendFile => "Send file", "发送文件";
    Cancel => "Cancel", "取消";
    History => "Sent before ({n})", "发送历史（{n}）";
    Resend => "Send again", "再次发送";
    ResendHint => "Send this payload again as it was", "按原样再次发送这条消息";
    Edit => "Edit", "编辑";
    Host => "Host", "主机";
    HostHint => "A host name, an IPv4 address (127.0.0.1) or an IPv6 address (::1)", "主机名、IPv4 地址（127.0.0.1）或 IPv6 地址（::1）";
    Port => "Port", "端口";
    Timeout => "Timeout", "超时";
    Connect => "Connect", "连接";
    Disconnect => "Disconnect", "断开";
    ShutdownSend => "Shutdown (send)", "关闭发送 (shutdown)";
    ShutdownSendHint => "shutdown(Write): send FIN and keep receiving — the first half of the four-way close", "shutdown(Write)：发送 FIN 但继续接收——四次挥手的前一半";
    CloseWhenPeerCloses => "Close when the peer closes", "对方关闭时也关闭";
    CloseWhenPeerClosesHint => "When the peer's FIN arrives (recv() → 0), close our side too. Untick to keep sending on a half-closed connection.", "收到对方的 FIN（recv() → 0）时也关闭本端。取消勾选可在半关闭的连接上继续发送。";
    ShowSocketCalls => "Show socket calls", "显示套接字调用";
    ErrEmptyHost => "Type the server's address (host) first.", "请先输入服务器地址（主机）。";
    ErrInvalidPort => "The port must be a whole number from 1 to 65535.", "端口必须是 1 到 65535 之间的整数。";
    StatusDisconnected => "Disconnected", "未连接";
    StatusConnecting => "Connecting to {target}…", "正在连接 {target}…";
    StatusConnectingAddr => "Connecting to {target} ({addr})…", "正在连接 {target}（{addr}）…";
    StatusConnected => "Connected to {peer} from local {local}", "已连接到 {peer}，本地地址 {local}";
    StatusWriteShut => "we sent FIN (shutdown), still receiving", "本端已发送 FIN（shutdown），仍在接收";
    StatusPeerShut => "the peer closed its side (FIN received), we can still send", "对方已关闭发送（收到 FIN），本端仍可发送";
    StatusClosing => "Closing…", "正在关闭…";
    StatusClosedLocal => "Disconnected (we closed the connection)", "已断开（本端关闭了连接）";
    StatusClosedPeer => "Closed by peer", "对方已关闭连接";
    StatusError => "Error: {error}", "错误：{error}";
    ErrKindRefused => "Connection refused: nothing is listening on that port (or a firewall said no).", "连接被拒绝：该端口上没有程序在监听（或被防火墙拒绝）。";
    ErrKindTimedOut => "Timed out: the other side did not answer in time.", "超时：对方没有及时应答。";
    ErrKindNoRoute => "No route to the host: it is switched off or unreachable from here.", "没有到该主机的路由：对方未开机或从这里无法到达。";
    ErrKindNetUnreachable => "The network is unreachable from this machine.", "从本机无法到达该网络。";
    ErrKindNameNotResolved => "Could not find that host name. Check the spelling, or type an IP address.", "找不到该主机名。请检查拼写，或直接输入 IP 地址。";
    ErrKindReset => "Connection reset by the peer: it aborted the connection (RST).", "连接被对方重置：对方异常终止了连接（RST）。";
    ErrKindBrokenPipe => "The connection is closed for sending.", "该连接已不能发送数据。";
    ErrKindInvalidPort => "The port must be a whole number from 1 to 65535.", "端口必须是 1 到 65535 之间的整数。";
    ErrKindEmptyHost => "Type the server's address (host) first.", "请先输入服务器地址（主机）。";
    ErrKindAddrInUse => "That address and port are already in use by another socket.", "该地址和端口已被其他套接字占用。";
    ErrKindAddrNotAvailable => "That address does not belong to this machine.", "该地址不属于本机。";
    ErrKindPermission => "Permission denied by the operating system.", "操作系统拒绝了此操作（权限不足）。";
    ErrKindTooManyFiles => "Too many open files: the program has run out of descriptors.", "打开的文件过多：程序的文件描述符已用完。";
    ErrKindFileRead => "Could not read the file.", "无法读取文件。";
    ErrKindFileWrite => "Could not write the file.", "无法写入文件。";
    ErrKindDatagramTooLarge => "Too big for one datagram: UDP carries at most 65,507 bytes over IPv4 (65,527 over IPv6). Nothing was sent.", "超出单个数据报的上限：UDP 在 IPv4 上最多 65,507 字节（IPv6 上 65,527 字节）。未发送任何数据。";
    ErrKindBroadcastNotEnabled => "Broadcast is not enabled on this socket: turn on SO_BROADCAST first (--broadcast on the command line).", "此套接字未启用广播：请先开启 SO_BROADCAST（命令行中使用 --broadcast）。";
    ErrKindNobodyListening => "Nobody is listening there: the other machine answered \"port unreachable\" (ICMP).", "那里没有程序在监听：对方回复了“端口不可达”（ICMP）。";
    ErrKindNotMulticast => "That is not a multicast group address (IPv4 224.0.0.0 to 239.255.255.255, IPv6 ff00::/8).", "这不是组播地址（IPv4 为 224.0.0.0 到 239.255.255.255，IPv6 为 ff00::/8）。";
    ErrKindEchoLimited => "Echo answers at most 500 datagrams a second; the rest were received but not echoed. (Two programs that both echo answer each other for ever.)", "回显每秒最多应答 500 个数据报；其余的已收到但未回显。（两个都在回显的程序会无休止地互相应答。）";
    ErrKindStalled => "The other side stopped reading: nothing could be sent for the stall timeout, so the transfer was ended and its place freed.", "对方不再读取数据：在停滞超时内一个字节也发不出去，因此结束了这次传输并让出名额。";
    ErrKindDiskFull => "The disk is full: nothing was saved under the final name.", "磁盘已满：没有以最终文件名保存任何内容。";
    ErrKindRemoteNotFound => "The server has no file by that name.", "服务器上没有这个文件。";
    ErrKindRemoteRefused => "The server refused that name (it would reach outside its folder, or is not a plain file).", "服务器拒绝了这个文件名（它会越出共享文件夹，或不是普通文件）。";
    ErrKindNothingReceived => "The server sent nothing — the file probably doesn't exist there.", "服务器什么也没发送——那里可能没有这个文件。";
    ErrKindIncomplete => "The connection ended before the whole file arrived; the partial file is kept so the download can be resumed.", "整个文件到达之前连接就结束了；已保留部分文件，可以继续下载。";
    ErrKindDigestMismatch => "The file arrived damaged (its BLAKE3 digest does not match); it was not saved.", "文件在传输中损坏（BLAKE3 摘要不符），未保存。";
    ErrKindBadReply => "The server's answer does not follow the download protocol.", "服务器的应答不符合下载协议。";
    HeldBack => "held back: not reading", "已暂停：对方不读取";
    HeldBackHint => "This client reads nothing of what it is sent, so the server has stopped reading from it until its queue drains (TCP's back-pressure, made visible). Nothing it sent is lost.", "该客户端不读取发给它的数据，服务器因此暂停读取它发来的数据，直到队列清空（TCP 的背压，在这里可见）。它发来的数据不会丢失。";
    KeptAs => "The downloaded file is kept as {path}.", "下载的文件已保存为 {path}。";
    ErrKindPartInUse => "Another download is saving to this file right now; wait for it, or choose another name.", "另一个下载正在保存到这个文件；请等它完成，或换一个文件名。";
    ErrKindDestinationExists => "A file with that name already exists; choose another name or allow overwriting.", "同名文件已存在；请换一个文件名，或允许覆盖。";
    ErrKindCancelled => "Cancelled.", "已取消。";
    ErrKindOther => "Network error.", "网络错误。";
    NoteConnecting => "connecting to {addr}", "正在连接 {addr}";
    NoteConnected => "connected to {peer} from {local}", "已连接到 {peer}（本地 {local}）";
    NotePeerClosed => "the peer closed its side (recv() → 0)", "对方关闭了发送（recv() → 0）";
    NoteWriteShut => "we sent FIN: shutdown(Write)", "本端发送了 FIN：shutdown(Write)";
    NoteClosedLocal => "closed by us", "本端关闭";
    NoteClosedPeer => "connection closed", "连接已关闭";
    NoteClosedFailed => "closed: {error}", "已关闭：{error}";
    NoteRepeat => "repeat {n} of {of}", "定时发送 第 {n}/{of} 次";
    NoteRepeatForever => "repeat {n}", "定时发送 第 {n} 次";
    NoteFileComplete => "file {path}", "文件 {path}";
    NoteFilePartial => "file {path} (stopped before the end)", "文件 {path}（未发送完）";
    NoteCaptureStarted => "saving received bytes to {path}", "开始把接收的数据保存到 {path}";
    NoteCaptureStopped => "stopped saving received bytes ({bytes} written)", "停止保存接收的数据（已写入 {bytes}）";
    NoteListening => "listening on {local}", "正在监听 {local}";
    NoteAccepted => "client connected (accept() gave it a socket of its own)", "客户端已连接（accept() 为它新建了一个套接字）";
    NoteRefused => "{peer} refused: the limit of {limit} clients is reached (accepted and closed at once)", "拒绝 {peer}：已达到 {limit} 个客户端的上限（接受后立即关闭）";
    NoteSendDropped => "not sent: this client is not reading and its queue is full", "未发送：该客户端没有读取数据，发送队列已满";
    NoteServerStopped => "server stopped: every client socket and the listening socket are closed", "服务器已停止：所有客户端套接字和监听套接字均已关闭";
    NoteServerFailed => "the server could not start: {error}", "服务器无法启动：{error}";
    NoteUdpBound => "socket bound to {local} — no connection: every datagram names its target", "套接字已绑定到 {local}——无需连接：每个数据报各自指明目的地";
    NoteUdpAutoBound => "sending on an unbound socket: the system picked {local} for it", "在未绑定的套接字上发送：系统为它选择了 {local}";
    NoteBroadcastOn => "SO_BROADCAST on: this socket may send to broadcast addresses", "已开启 SO_BROADCAST：此套接字可以发送到广播地址";
    NoteBroadcastOff => "SO_BROADCAST off", "已关闭 SO_BROADCAST";
    NoteJoined => "joined multicast group {group} on {iface}", "已在 {iface} 上加入组播组 {group}";
    NoteLeft => "left multicast group {group} on {iface}", "已在 {iface} 上退出组播组 {group}";
    NoteDrops => "the kernel has dropped {n} datagrams for this socket so far (receive buffer full) — the senders were never told", "内核已为此套接字丢弃 {n} 个数据报（接收缓冲区已满）——发送方对此一无所知";
    NoteEcho => "echo", "回显";
    NoteAutoReply => "auto-reply", "自动回复";
    EndPeerClosed => "the client closed the connection (recv() → 0), so we closed ours", "客户端关闭了连接（recv() → 0），本端随之关闭";
    EndKickedGraceful => "disconnected by us: close() sent FIN", "由本端断开：close() 发送了 FIN";
    EndKickedAbortive => "reset by us: SO_LINGER 0 then close() sent RST", "由本端重置：设置 SO_LINGER 0 后 close() 发送了 RST";
    EndFailed => "connection lost: {error}", "连接中断：{error}";
    EndServerStopped => "closed because the server stopped", "服务器停止，连接已关闭";
    OutcomeOk => "ok", "成功";
    OutcomeBytes => "{n} bytes", "{n} 字节";
    OutcomePeerClosed => "0 (peer closed)", "0（对方已关闭）";
    OutcomeDescriptor => "fd {n}", "描述符 {n}";
    OutcomeConnected => "ok, local address {local}", "成功，本地地址 {local}";
    OutcomeBound => "ok, bound to {local}", "成功，绑定到 {local}";
    OutcomeAccepted => "new socket fd {fd} for client {peer}", "为客户端 {peer} 新建的套接字，描述符 {fd}";
    OutcomeDatagram => "{n} bytes from {from}", "{n} 字节，来自 {from}";
    OutcomeFailed => "failed: {error}", "失败：{error}";
    ErrHexInvalidChar => "Not hex: '{ch}' at column {pos}. Use 0-9 and A-F, e.g. 48 65 6C.", "不是十六进制：第 {pos} 列的“{ch}”。请使用 0-9 和 A-F，例如 48 65 6C。";
    ErrHexOddDigits => "Odd number of hex digits at column {pos}: each byte needs two digits.", "第 {pos} 列的十六进制位数为奇数：每个字节需要两位。";
    ErrHexEmptyPrefix => "'0x' without digits at column {pos}.", "第 {pos} 列的“0x”后面没有数字。";
    ErrUnmappable => "'{ch}' at column {pos} cannot be written in {encoding}. Choose UTF-8 or GB18030, or remove it.", "第 {pos} 列的“{ch}”无法用 {encoding} 编码。请改用 UTF-8 或 GB18030，或删除该字符。";
    ErrSendNeedsTo => "--send needs --to HOST:PORT: a UDP datagram must name its target.", "--send 需要配合 --to HOST:PORT：UDP 数据报必须指明目的地。";
    NothingSent => "Nothing was sent.", "未发送任何数据。";
}

/// Plain words for an error, with the OS's own message after it.
/// A moment as the log shows it: local time of day to the millisecond.
pub fn format_time(at: std::time::SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = at.into();
    local.format("%H:%M:%S%.3f").to_string()
}

pub fn describe_error(lang: Lang, err: &NetError) -> String {
    let plain = lang.t(error_msg(err.kind));
    if err.detail.is_empty() {
        plain.to_owned()
    } else {
        format!("{plain} ({})", err.detail)
    }
}

pub fn error_msg(kind: NetErrorKind) -> Msg {
    match kind {
        NetErrorKind::Refused => Msg::ErrKindRefused,
        NetErrorKind::TimedOut => Msg::ErrKindTimedOut,
        NetErrorKind::NoRoute => Msg::ErrKindNoRoute,
        NetErrorKind::NetworkUnreachable => Msg::ErrKindNetUnreachable,
        NetErrorKind::NameNotResolved => Msg::ErrKindNameNotResolved,
        NetErrorKind::Reset => Msg::ErrKindReset,
        NetErrorKind::BrokenPipe => Msg::ErrKindBrokenPipe,
        NetErrorKind::InvalidPort => Msg::ErrKindInvalidPort,
        NetErrorKind::EmptyHost => Msg::ErrKindEmptyHost,
        NetErrorKind::AddrInUse => Msg::ErrKindAddrInUse,
        NetErrorKind::AddrNotAvailable => Msg::ErrKindAddrNotAvailable,
        NetErrorKind::PermissionDenied => Msg::ErrKindPermission,
        NetErrorKind::TooManyOpenFiles => Msg::ErrKindTooManyFiles,
        NetErrorKind::FileRead => Msg::ErrKindFileRead,
        NetErrorKind::FileWrite => Msg::ErrKindFileWrite,
        NetErrorKind::DatagramTooLarge => Msg::ErrKindDatagramTooLarge,
        NetErrorKind::BroadcastNotEnabled => Msg::ErrKindBroadcastNotEnabled,
        NetErrorKind::NobodyListening => Msg::ErrKindNobodyListening,
        NetErrorKind::NotMulticast => Msg::ErrKindNotMulticast,
        NetErrorKind::DiskFull => Msg::ErrKindDiskFull,
        NetErrorKind::RemoteNotFound => Msg::ErrKindRemoteNotFound,
        NetErrorKind::RemoteRefused => Msg::ErrKindRemoteRefused,
        NetErrorKind::NothingReceived => Msg::ErrKindNothingReceived,
        NetErrorKind::Incomplete => Msg::ErrKindIncomplete,
        NetErrorKind::DigestMismatch => Msg::ErrKindDigestMismatch,
        NetErrorKind::BadReply => Msg::ErrKindBadReply,
        NetErrorKind::DestinationExists => Msg::ErrKindDestinationExists,
        NetErrorKind::PartInUse => Msg::ErrKindPartInUse,
        NetErrorKind::Stalled => Msg::ErrKindStalled,
        NetErrorKind::EchoLimited => Msg::ErrKindEchoLimited,
        NetErrorKind::Cancelled => Msg::ErrKindCancelled,
        NetErrorKind::Other => Msg::ErrKindOther,
    }
}

/// Why the file server would not serve a name.
pub fn describe_refusal(lang: Lang, r: crate::proto::download::Refusal) -> &'static str {
    use crate::proto::download::Refusal as R;
    lang.t(match r {
        R::Empty => Msg::RefEmpty,
        R::TooLong => Msg::RefTooLong,
        R::BadEncoding => Msg::RefBadEncoding,
        R::Nul => Msg::RefNul,
        R::ParentDir => Msg::RefParentDir,
        R::Absolute => Msg::RefAbsolute,
        R::Backslash => Msg::RefBackslash,
        R::DriveLetter => Msg::RefDriveLetter,
        R::OutsideFolder => Msg::RefOutsideFolder,
        R::NotRegularFile => Msg::RefNotRegular,
        R::Malformed => Msg::RefMalformed,
        R::Busy => Msg::RefBusy,
        R::Reserved => Msg::RefReserved,
        R::ControlChar => Msg::RefControlChar,
        R::HardLink => Msg::RefHardLink,
    })
}

fn describe_fetch(lang: Lang, how: &Fetch) -> String {
    match how {
        Fetch::Same => lang.t(Msg::VerdictPassed).to_owned(),
        Fetch::NoConnection(kind) => lang.fmt(
            Msg::FetchNoConnection,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
        Fetch::Truncated { got, expected } => {
            lang.fmt(Msg::FetchTruncated, &[("got", got), ("expected", expected)])
        }
        Fetch::TooLong { expected } => lang.fmt(Msg::FetchTooLong, &[("expected", expected)]),
        Fetch::Differs => lang.t(Msg::FetchDiffers).to_owned(),
        Fetch::Stalled { got, secs } => lang.fmt(
            Msg::FetchStalled,
            &[("got", got), ("t", &format!("{secs:.1}"))],
        ),
    }
}

/// A file check's title.
pub fn describe_files_check(lang: Lang, check: FilesCheck) -> &'static str {
    lang.t(match check {
        FilesCheck::EachFile => Msg::FilesCheckEach,
        FilesCheck::Missing => Msg::FilesCheckMissing,
        FilesCheck::TwoAtOnce => Msg::FilesCheckTwo,
        FilesCheck::ChineseName => Msg::FilesCheckChinese,
        FilesCheck::BigFile => Msg::FilesCheckBig,
    })
}

/// A file check's verdict with its evidence.
/// A load error kind, in words.
pub fn describe_load_error(lang: Lang, e: LoadError) -> &'static str {
    lang.t(match e {
        LoadError::Refused => Msg::LoadErrRefused,
        LoadError::ConnectTimeout => Msg::LoadErrConnectTimeout,
        LoadError::Reset => Msg::LoadErrReset,
        LoadError::Closed => Msg::LoadErrClosed,
        LoadError::ReplyTimeout => Msg::LoadErrReplyTimeout,
        LoadError::WrongReply => Msg::LoadErrWrongReply,
        LoadError::TooManyOpenFiles => Msg::LoadErrTooManyOpenFiles,
        LoadError::NoLocalPort => Msg::LoadErrNoLocalPort,
        LoadError::Lost => Msg::LoadErrLost,
        LoadError::Other => Msg::LoadErrOther,
    })
}

/// What the open-file limit allowed for a run of `clients`.
pub fn describe_file_limit(lang: Lang, limit: &FileLimit, clients: usize) -> String {
    match (limit.before, limit.now, limit.hard) {
        (Some(before), Some(now), Some(hard)) => {
            let mut t = if now > before {
                lang.fmt(
                    Msg::LoadLimitRaised,
                    &[("before", &before), ("now", &now), ("hard", &hard)],
                )
            } else {
                lang.fmt(Msg::LoadLimitKept, &[("now", &now), ("hard", &hard)])
            };
            let fit = now.saturating_sub(16);
            if fit < clients as u64 {
                t.push_str(if lang == Lang::Zh { "；" } else { "; " });
                t.push_str(&lang.fmt(Msg::LoadLimitShort, &[("now", &now), ("fit", &fit)]));
            }
            t
        }
        (None, None, None) if crate::net::sys::OS == crate::net::sys::Os::Windows => {
            lang.t(Msg::LoadLimitNone).to_owned()
        }
        _ => lang.t(Msg::LoadLimitUnknown).to_owned(),
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One live sample, as a line.
pub fn describe_load_sample(lang: Lang, s: &LoadSample) -> String {
    lang.fmt(
        Msg::LoadSample,
        &[
            ("t", &format!("{:.1}", s.at.as_secs_f64())),
            ("connected", &s.connected),
            ("rate", &format!("{:.0}", s.messages_per_s)),
            ("p50", &ms(s.rtt.p50_ms)),
            ("p99", &ms(s.rtt.p99_ms)),
            ("errors", &s.errors),
        ],
    )
}

/// The report of a load run, as lines.
pub fn describe_load_report(lang: Lang, r: &LoadReport) -> Vec<String> {
    let mut lines = vec![
        lang.fmt(
            Msg::LoadSumClients,
            &[
                ("connected", &r.clients_connected),
                ("clients", &r.clients),
                ("peak", &r.peak_connected),
            ],
        ),
        lang.fmt(
            Msg::LoadSumMessages,
            &[
                ("answered", &r.messages),
                ("sent", &r.sent_messages),
                ("secs", &format!("{:.1}", r.elapsed.as_secs_f64())),
                ("rate", &format!("{:.0}", r.messages_per_s)),
                (
                    "bytes",
                    &crate::proto::format::human_bytes(r.bytes_per_s as u64),
                ),
            ],
        ),
    ];
    let pct = |msg: Msg, p: &crate::net::load::Percentiles| {
        lang.fmt(
            msg,
            &[
                ("p50", &ms(p.p50_ms)),
                ("p95", &ms(p.p95_ms)),
                ("p99", &ms(p.p99_ms)),
                ("max", &ms(p.max_ms)),
            ],
        )
    };
    if !r.udp {
        lines.push(pct(Msg::LoadSumConnect, &r.connect));
    }
    if r.messages > 0 {
        lines.push(pct(Msg::LoadSumRtt, &r.rtt));
    } else if r.sent_messages > 0 {
        lines.push(lang.t(Msg::LoadSumNoAnswers).to_owned());
    }
    if r.errors.is_empty() {
        lines.push(lang.t(Msg::LoadSumNoErrors).to_owned());
    } else {
        let sep = if lang == Lang::Zh { "，" } else { ", " };
        let list: Vec<String> = r
            .errors
            .iter()
            .map(|(k, n)| format!("{} {n}", describe_load_error(lang, *k)))
            .collect();
        lines.push(lang.fmt(Msg::LoadSumErrors, &[("list", &list.join(sep))]));
    }
    if r.stopped {
        lines.push(lang.t(Msg::LoadSumStopped).to_owned());
    }
    lines
}

pub fn describe_files_verdict(lang: Lang, check: FilesCheck, v: &FilesVerdict) -> String {
    match v {
        FilesVerdict::Passed { .. } if check == FilesCheck::Missing => {
            lang.t(Msg::FilesPassedMissing).to_owned()
        }
        FilesVerdict::Passed { files, bytes } => lang.fmt(
            Msg::FilesPassed,
            &[
                ("n", files),
                ("bytes", &crate::proto::format::human_bytes(*bytes)),
            ],
        ),
        FilesVerdict::NoLocalFiles => lang.t(Msg::FilesNoLocal).to_owned(),
        FilesVerdict::Skipped => lang.t(Msg::FilesSkipped).to_owned(),
        FilesVerdict::Failed { name, how } => lang.fmt(
            Msg::FilesFailed,
            &[("name", name), ("how", &describe_fetch(lang, how))],
        ),
        FilesVerdict::SentForMissing { bytes, text } => lang.fmt(
            Msg::FilesSentForMissing,
            &[("n", bytes), ("text", &text.trim_end())],
        ),
        FilesVerdict::NoCloseForMissing { secs } => {
            lang.fmt(Msg::FilesNoClose, &[("t", &format!("{secs:.1}"))])
        }
        FilesVerdict::ChineseName {
            name, utf8, gbk, ..
        } => {
            let word = |ok: &bool| {
                lang.t(if *ok {
                    Msg::FilesWorks
                } else {
                    Msg::FilesNotServed
                })
            };
            lang.fmt(
                Msg::FilesChinese,
                &[("name", name), ("utf8", &word(utf8)), ("gbk", &word(gbk))],
            )
        }
    }
}

/// The colon between a title and its text: full-width in Chinese.
pub fn colon(lang: Lang) -> &'static str {
    match lang {
        Lang::En => ": ",
        Lang::Zh => "：",
    }
}

/// A further check's short name, for its on/off box.
pub fn describe_further(lang: Lang, kind: CheckKind) -> &'static str {
    lang.t(match kind {
        CheckKind::Class => Msg::CheckModeServer,
        CheckKind::ConnectClose => Msg::FurtherConnectClose,
        CheckKind::Slow => Msg::FurtherSlow,
        CheckKind::Big => Msg::FurtherBig,
        CheckKind::HalfClose => Msg::FurtherHalfClose,
        CheckKind::Reconnect => Msg::FurtherReconnect,
    })
}

/// A check's title.
pub fn describe_check(lang: Lang, kind: CheckKind, config: &CheckConfig) -> String {
    match kind {
        CheckKind::Class => lang.fmt(
            Msg::CheckClass,
            &[("n", &config.clients), ("m", &config.messages)],
        ),
        CheckKind::ConnectClose => lang.t(Msg::CheckConnectClose).to_owned(),
        CheckKind::Slow => lang.t(Msg::CheckSlow).to_owned(),
        CheckKind::Big => lang.t(Msg::CheckBig).to_owned(),
        CheckKind::HalfClose => lang.t(Msg::CheckHalfClose).to_owned(),
        CheckKind::Reconnect => lang.t(Msg::CheckReconnect).to_owned(),
    }
}

/// A check's verdict with its evidence, in plain words.
pub fn describe_verdict(lang: Lang, v: &Verdict) -> String {
    let secs = |t: &f64| format!("{t:.1}");
    match v {
        Verdict::Passed => lang.t(Msg::VerdictPassed).to_owned(),
        Verdict::NotListening(kind) => lang.fmt(
            Msg::VerdictNotListening,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
        Verdict::OnlyFirstServed {
            served,
            waiting,
            unconnected,
            timeout_s,
        } => {
            let mut text = lang.fmt(
                Msg::VerdictOnlyFirst,
                &[
                    ("served", served),
                    ("waiting", waiting),
                    ("t", &secs(timeout_s)),
                ],
            );
            if *unconnected > 0 {
                text.push(' ');
                text.push_str(&lang.fmt(Msg::VerdictBacklogFull, &[("n", unconnected)]));
            }
            text
        }
        Verdict::NoConnection(kind) => lang.fmt(
            Msg::EndingNoConnection,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
        Verdict::NoReply { clients, timeout_s } => lang.fmt(
            Msg::VerdictNoReply,
            &[("n", clients), ("t", &secs(timeout_s))],
        ),
        Verdict::FirstAnswerOnly { clients } => lang.fmt(Msg::VerdictFirstOnly, &[("n", clients)]),
        Verdict::WrongReply {
            client,
            message,
            sent,
            got,
        } => lang.fmt(
            Msg::VerdictWrong,
            &[
                ("c", client),
                ("m", message),
                ("sent", &sent.trim_end()),
                ("got", &got.trim_end()),
            ],
        ),
        Verdict::ClosedEarly { client, message } => {
            lang.fmt(Msg::VerdictClosedEarly, &[("c", client), ("m", message)])
        }
        Verdict::Partial { answered, expected } => lang.fmt(
            Msg::VerdictPartial,
            &[("answered", answered), ("expected", expected)],
        ),
        Verdict::NoCloseAfterFin { timeout_s } => {
            lang.fmt(Msg::VerdictNoClose, &[("t", &secs(timeout_s))])
        }
        Verdict::StuckAfter { ending } => lang.fmt(
            Msg::VerdictStuck,
            &[("how", &describe_ending(lang, ending))],
        ),
    }
}

/// How one checking client's conversation ended, in a few words.
pub fn describe_ending(lang: Lang, ending: &Ending) -> String {
    match ending {
        Ending::Done => lang.t(Msg::VerdictPassed).to_owned(),
        Ending::Timeout { .. } => lang.t(Msg::EndingTimeout).to_owned(),
        Ending::Closed { .. } => lang.t(Msg::EndingClosed).to_owned(),
        Ending::Wrong { .. } => lang.t(Msg::EndingWrong).to_owned(),
        Ending::NoConnection(kind) => lang.fmt(
            Msg::EndingNoConnection,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
    }
}

/// How one of the server's clients went away.
pub fn describe_client_end(lang: Lang, end: &ClientEnd) -> String {
    match end {
        ClientEnd::PeerClosed => lang.t(Msg::EndPeerClosed).to_owned(),
        ClientEnd::Kicked(KickHow::Graceful) => lang.t(Msg::EndKickedGraceful).to_owned(),
        ClientEnd::Kicked(KickHow::Abortive) => lang.t(Msg::EndKickedAbortive).to_owned(),
        ClientEnd::Failed(err) => {
            lang.fmt(Msg::EndFailed, &[("error", &describe_error(lang, err))])
        }
        ClientEnd::ServerStopped => lang.t(Msg::EndServerStopped).to_owned(),
    }
}

/// What a socket call returned, in words.
pub fn describe_outcome(lang: Lang, kind: &CallKind, outcome: &CallOutcome) -> String {
    match outcome {
        CallOutcome::Done => match kind {
            CallKind::KernelState(_) => lang.t(Msg::OutcomeKernel).to_owned(),
            CallKind::Close
            | CallKind::Shutdown(_)
            | CallKind::SetOption { .. }
            | CallKind::Bind { .. }
            | CallKind::Listen { .. } => "0".to_owned(),
            _ => lang.t(Msg::OutcomeOk).to_owned(),
        },
        CallOutcome::Bytes(0) if matches!(kind, CallKind::Recv { .. }) => {
            lang.t(Msg::OutcomePeerClosed).to_owned()
        }
        CallOutcome::Bytes(n) => lang.fmt(Msg::OutcomeBytes, &[("n", n)]),
        CallOutcome::Addrs(addrs) => addrs
            .iter()
            .map(|a| a.ip().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        CallOutcome::Descriptor(fd) => lang.fmt(Msg::OutcomeDescriptor, &[("n", fd)]),
        CallOutcome::Connected { local } => lang.fmt(Msg::OutcomeConnected, &[("local", local)]),
        CallOutcome::Bound { local } => lang.fmt(Msg::OutcomeBound, &[("local", local)]),
        CallOutcome::Datagram { n, from } => {
            lang.fmt(Msg::OutcomeDatagram, &[("n", n), ("from", from)])
        }
        CallOutcome::Accepted { fd, peer } => {
            lang.fmt(Msg::OutcomeAccepted, &[("fd", fd), ("peer", peer)])
        }
        CallOutcome::Failed(err) => {
            lang.fmt(Msg::OutcomeFailed, &[("error", &describe_error(lang, err))])
        }
    }
}

pub fn describe_payload_error(lang: Lang, err: &PayloadError) -> String {
    match err {
        PayloadError::Hex(e) => {
            let pos = e.char_index + 1;
            match e.kind {
                HexErrorKind::InvalidChar(ch) => {
                    lang.fmt(Msg::ErrHexInvalidChar, &[("ch", &ch), ("pos", &pos)])
                }
                HexErrorKind::OddDigits => lang.fmt(Msg::ErrHexOddDigits, &[("pos", &pos)]),
                HexErrorKind::EmptyPrefix => lang.fmt(Msg::ErrHexEmptyPrefix, &[("pos", &pos)]),
            }
        }
        PayloadError::Encode(crate::proto::EncodeError::Unmappable {
            ch,
            char_index,
            encoding,
        }) => lang.fmt(
            Msg::ErrUnmappable,
            &[
                ("ch", ch),
                ("pos", &(char_index + 1)),
                ("encoding", encoding),
            ],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings that are the same in both languages on purpose.
    const SAME_IN_BOTH: &[Msg] = &[];

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_string_has_both_languages() {
        for &msg in Msg::ALL {
            let (en, zh) = (msg.en(), msg.zh());
            assert!(!en.trim().is_empty(), "{msg:?} has no English");
            assert!(!zh.trim().is_empty(), "{msg:?} has no Chinese");
            if !SAME_IN_BOTH.contains(&msg) {
                assert_ne!(en, zh, "{msg:?} is not translated");
                assert!(
                    zh.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
                    "{msg:?}: the Chinese text has no Chinese in it: {zh}"
                );
            }
            assert_eq!(
                placeholders(en),
                placeholders(zh),
                "{msg:?}: placeholders differ"
            );
        }
    }

    #[test]
    fn every_chinese_character_is_in_the_bundled_font() {
        let font = include_bytes!("../assets/fonts/NotoSansSC-GB2312.otf");
        let covered = crate::fonts::covered_chars(font);
        for &msg in Msg::ALL {
            for ch in msg.zh().chars().filter(|c| !c.is_ascii()) {
                assert!(
                    covered.contains(&ch),
                    "{msg:?}: {ch:?} is not in the bundled font"
                );
            }
        }
    }

    #[test]
    fn fmt_fills_placeholders() {
        assert_eq!(
            Lang::En.fmt(Msg::PayloadSize, &[("n", &5)]),
            "5 bytes will be sent"
        );
        assert_eq!(
            Lang::Zh.fmt(Msg::PayloadSize, &[("n", &5)]),
            "将发送 5 字节"
        );
        assert_eq!(Lang::from_code("zh"), Some(Lang::Zh));
        assert_eq!(Lang::from_code("fr"), None);
    }
}
