"""The attachment types denied by default: executables, scripts and the containers and
shortcuts that carry or start them, by extension and by MIME type (declared, or sniffed
from the content). Plain constants, read by the settings (the operator may replace
them: ATTACHMENT_DENIED_EXTENSIONS, ATTACHMENT_DENIED_TYPES).

The extensions follow what mail gateways block: Outlook's Level 1 list ("Blocked
attachments in Outlook", also Exchange Online's BlockedFileTypes), Gmail's blocked
types and Microsoft Defender's common attachment filter, with the containers used to
smuggle programs past Mark-of-the-Web (disk images, OneNote, app packages). Left out on
purpose: certificates (.cer, .crt, .der: IT support exchanges them, and installing one
asks the user), .pst and .tmp (no code), plain archives (.zip, .7z, .rar: their
contents are not opened here), and HTML and SVG (docs/security.md, "HTML and SVG
attachments")."""

DENIED_EXTENSIONS = (
    # Windows programs, installers, libraries, drivers and control panels
    *("exe", "dll", "com", "scr", "pif", "cpl", "msi", "msp", "mst", "msu", "msc", "sys"),
    *("drv", "vxd", "ocx", "inf", "reg", "gadget", "application", "appref-ms", "xbap"),
    *("diagcab", "diagcfg", "diagpack", "cab", "bgi", "ani", "printerexport", "webpnp"),
    # app packages and installers of the Store
    *("appx", "appxbundle", "msix", "msixbundle", "appinstaller"),
    # shortcuts and shell files that start programs or fetch remote ones
    *("lnk", "url", "scf", "shb", "shs", "website", "xnk", "library-ms", "search-ms"),
    *("searchconnector-ms", "settingcontent-ms", "appcontent-ms", "theme", "udl", "wsb"),
    # disk images and containers that hide programs from Mark-of-the-Web
    *("iso", "img", "vhd", "vhdx", "one", "onepkg"),
    # help files and web archives that run script outside the browser's sandbox
    *("chm", "hlp", "cnt", "hpj", "hta", "htc", "mht", "mhtml"),
    # scripts the system runs on a double click
    *("bat", "cmd", "vb", "vbs", "vbe", "vbp", "js", "jse", "mjs", "ws", "wsf", "wsc"),
    *("wsh", "sct", "jar", "jnlp", "py", "pyw", "pyc", "pyo", "pyz", "pyzw", "pl", "rb"),
    *("php", "sh", "bash", "zsh", "csh", "ksh", "command", "tool", "scpt", "applescript"),
    *("terminal", "fileloc", "inetloc", "desktop", "iqy", "slk"),
    # PowerShell and its predecessor Monad
    *("ps1", "psm1", "psd1", "ps1xml", "ps2", "ps2xml", "psc1", "psc2", "psdm1", "pssc"),
    *("cdxml", "msh", "msh1", "msh2", "mshxml", "msh1xml", "msh2xml"),
    # other platforms' programs and packages
    *("app", "apk", "xapk", "aab", "ipa", "deb", "rpm", "dmg", "pkg", "mpkg", "elf"),
    *("run", "so", "dylib", "appimage", "dex", "class", "swf", "xpi", "crx", "vsix", "kext"),
    # Office add-ins and files with macros enabled; Access databases and projects
    *("docm", "dotm", "xlsm", "xltm", "xlam", "xla", "xll", "pptm", "potm", "ppam", "ppa"),
    *("ppsm", "sldm", "vsto", "vsmacros", "vsw", "ade", "adp", "mda", "mdb", "mde", "mdt"),
    *("mdw", "mdz", "mad", "maf", "mag", "mam", "maq", "mar", "mas", "mat", "mau", "mav"),
    *("maw", "mcf", "bas", "fxp", "prg", "prf", "ops", "osd", "pcd", "plg", "grp"),
    # Internet settings, media redirectors and server pages that Outlook blocks too
    *("ins", "isp", "its", "asx", "asp", "aspx"),
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
    "application/x-iso9660-image",
    "application/x-cd-image",
    "application/x-raw-disk-image",
    "application/x-vhd",
    "application/x-vhdx",
    "application/onenote",
    "application/msonenote",
    "application/vnd.ms-htmlhelp",
    "application/x-chm",
    "application/vnd.ms-cab-compressed",
    "application/x-java-jnlp-file",
    "application/msix",
    "application/appx",
    "application/vnd.ms-appx",
    "application/x-mimearchive",
)
