"""The attachment types denied by default: executables and scripts, by extension and by
MIME type (declared, or sniffed from the content). Plain constants, read by the settings
(the operator may replace them: ATTACHMENT_DENIED_EXTENSIONS, ATTACHMENT_DENIED_TYPES)."""

DENIED_EXTENSIONS = (
    # Windows programs, installers, libraries, shortcuts and control panels
    *("exe", "dll", "com", "scr", "pif", "cpl", "msi", "msp", "mst", "msc", "sys", "drv"),
    *("ocx", "lnk", "url", "inf", "reg", "gadget", "application", "appref-ms", "diagcab"),
    # scripts the system runs on a double click
    *("bat", "cmd", "ps1", "psm1", "psd1", "ps1xml", "vb", "vbs", "vbe", "js", "jse", "mjs"),
    *("ws", "wsf", "wsc", "wsh", "hta", "sct", "jar", "py", "pyw", "pyc", "pl", "rb", "php"),
    *("sh", "bash", "zsh", "csh", "ksh", "command", "tool", "scpt", "applescript"),
    # other platforms' programs and packages
    *("app", "apk", "xapk", "aab", "ipa", "deb", "rpm", "dmg", "pkg", "mpkg", "elf"),
    *("run", "so", "dylib", "appimage", "dex", "class", "swf", "xpi", "crx", "vsix"),
    # Office files with macros enabled
    *("docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "ppsm", "sldm"),
)

DENIED_TYPES = (
    # what the content sniffer reports for programs (threads.attachments.sniff); the
    # other types are checked against the type the sender declares
    "application/vnd.microsoft.portable-executable",
    "application/x-executable",
    "application/x-mach-binary",
    "application/x-pef-executable",
    "application/java-vm",
    "application/vnd.android.dex",
    "application/x-ms-shortcut",
    "text/x-script",
    # what senders declare for programs and scripts
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-dosexec",
    "application/x-ms-installer",
    "application/x-msi",
    "application/x-ms-application",
    "application/x-elf",
    "application/x-sharedlib",
    "application/x-sh",
    "application/x-shellscript",
    "application/x-csh",
    "application/x-bat",
    "application/x-python",
    "application/x-perl",
    "application/x-php",
    "application/x-ruby",
    "application/javascript",
    "application/ecmascript",
    "application/x-javascript",
    "text/javascript",
    "text/ecmascript",
    "text/vbscript",
    "text/x-python",
    "text/x-shellscript",
    "text/x-sh",
    "application/hta",
    "application/java-archive",
    "application/x-java-archive",
    "application/vnd.android.package-archive",
    "application/x-apple-diskimage",
    "application/x-shockwave-flash",
)
