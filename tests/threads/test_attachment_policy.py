"""The attachment policy (threads.attachments): types allowed and denied by setting, by
extension and by content sniffed with puremagic; executables and scripts denied by
default; files stored readable by the owner only."""

import stat
from pathlib import Path

import pytest

from threads.attachments import AttachmentRefused, attachment_refusal, inline_type, sniff
from threads.models import StoredFile
from threads.services import NewAttachment, files_store

from ..samples import ELF, JPEG, MACHO, PDF, PE, PNG, SCRIPT, TEXT, zip_bytes

PROGRAM = "its content is a program or script "
DENIED = "files of type %s are not accepted"


@pytest.mark.parametrize(
    "name,content,ctype,why",
    [
        ("setup.exe", TEXT, "", "files of type .exe are not accepted"),
        ("INVOICE.PDF.EXE", PDF, "application/pdf", "files of type .exe are not accepted"),
        ("run.bat", TEXT, "text/plain", "files of type .bat are not accepted"),
        ("x.ps1", TEXT, "", "files of type .ps1 are not accepted"),
        ("x.js", TEXT, "", "files of type .js are not accepted"),
        ("x.jar", zip_bytes(), "", "files of type .jar are not accepted"),
        ("x.apk", zip_bytes(), "", "files of type .apk are not accepted"),
        ("trailing.exe.", TEXT, "", "files of type .exe are not accepted"),
        (
            "report.pdf",
            PE,
            "application/pdf",
            "its content is a program or script (application/vnd.microsoft.portable-executable)",
        ),
        (
            "notes.txt",
            ELF,
            "text/plain",
            "its content is a program or script (application/x-executable)",
        ),
        (
            "photo.jpg",
            MACHO,
            "image/jpeg",
            "its content is a program or script (application/x-mach-binary)",
        ),
        ("readme.txt", SCRIPT, "text/plain", "its content is a program or script (text/x-script)"),
        (
            "data",
            TEXT,
            "application/x-msdownload",
            "files of type application/x-msdownload are not accepted",
        ),
        (
            "a.txt",
            TEXT,
            "text/javascript; charset=utf-8",
            "files of type text/javascript are not accepted",
        ),
    ],
)
def test_executables_and_scripts_are_denied_by_default(name, content, ctype, why):
    assert attachment_refusal(filename=name, content=content, content_type=ctype) == why


@pytest.mark.parametrize(
    "name,content,ctype",
    [
        ("shot.png", PNG, "image/png"),
        ("photo.jpeg", JPEG, "image/jpeg"),
        ("scan.pdf", PDF, "application/pdf"),
        ("notes.txt", TEXT, "text/plain"),
        ("archive.zip", zip_bytes(), "application/zip"),
        ("letter.docx", zip_bytes(), ""),
        ("no extension", TEXT, ""),
    ],
)
def test_ordinary_files_are_accepted(name, content, ctype):
    assert attachment_refusal(filename=name, content=content, content_type=ctype) is None


# What mail gateways block (Outlook's Level 1 list, Gmail, Defender's common attachment
# filter) for carrying or starting programs: containers that escape Mark-of-the-Web,
# shortcuts, help files, web archives, packages, Office add-ins, PowerShell and Monad.
CONTAINERS = (
    *("chm", "iso", "img", "vhd", "vhdx", "one", "onepkg", "jnlp", "msix", "msixbundle", "appx"),
    *("appxbundle", "appinstaller", "mht", "mhtml", "hta", "wsf", "wsh", "wsc", "lnk", "scf"),
    *("url", "website", "library-ms", "search-ms", "searchconnector-ms", "settingcontent-ms"),
    *("appcontent-ms", "xll", "xla", "ppa", "vsto", "reg", "ps1xml", "ps2xml", "psc1", "psc2"),
    *("pssc", "msh", "msh1", "msh2", "mshxml", "msh1xml", "msh2xml", "gadget", "cpl", "inf"),
    *("cab", "msu", "hlp", "cnt", "theme", "iqy", "slk", "mdb", "mde", "ade", "adp", "bas", "fxp"),
    *("pif", "udl", "wsb", "xbap", "terminal", "fileloc", "desktop", "kext"),
)


@pytest.mark.parametrize("ext", CONTAINERS)
def test_program_containers_and_shortcuts_are_denied_by_default(ext):
    for name in (f"invoice.{ext}", f"Invoice.PDF.{ext.upper()}"):
        why = attachment_refusal(filename=name, content=TEXT, content_type="")
        assert why == f"files of type .{ext} are not accepted"


@pytest.mark.parametrize(
    "ctype",
    [
        "application/x-iso9660-image",
        "application/x-cd-image",
        "application/x-vhd",
        "application/onenote",
        "application/vnd.ms-htmlhelp",
        "application/x-java-jnlp-file",
        "application/msix",
        "application/x-mimearchive",
        "application/vnd.ms-cab-compressed",
    ],
)
def test_containers_declared_by_type_are_denied_under_any_name(ctype):
    assert attachment_refusal(filename="data.bin", content=TEXT, content_type=ctype) == (
        f"files of type {ctype} are not accepted"
    )


@pytest.mark.parametrize(
    "name,content,ctype",
    [
        ("page.html", b"<html><script>alert(1)</script></html>", "text/html"),
        ("saved.htm", b"<body onload=alert(1)>", "text/html"),
        ("logo.svg", b"<svg onload=alert(1)/>", "image/svg+xml"),
        ("server.crt", b"-----BEGIN CERTIFICATE-----\n", "application/x-x509-ca-cert"),
    ],
)
def test_html_svg_and_certificates_are_accepted_and_only_ever_downloaded(name, content, ctype):
    """The decision in docs/security.md: a helpdesk receives saved pages, reports, logos
    and certificates; none of them runs in our origin (every download is an attachment
    with a sandbox policy and nosniff: panel/test_downloads.py)."""
    assert attachment_refusal(filename=name, content=content, content_type=ctype) is None
    assert inline_type(ctype, content) is None


def test_the_sniffer_sees_through_names_and_declared_types():
    assert sniff(PE).program == "application/vnd.microsoft.portable-executable"
    assert sniff(ELF).program == "application/x-executable"
    assert sniff(PNG).best == "image/png"
    assert "application/zip" in sniff(zip_bytes()).types
    assert sniff(TEXT).best == ""


def test_allowed_extensions_admit_only_what_they_name(settings):
    settings.HELPDESK = {**settings.HELPDESK, "ATTACHMENT_ALLOWED_EXTENSIONS": ["pdf", ".PNG"]}

    assert attachment_refusal(filename="a.pdf", content=PDF, content_type="") is None
    assert attachment_refusal(filename="A.png", content=PNG, content_type="") is None
    assert (
        attachment_refusal(filename="a.txt", content=TEXT, content_type="text/plain")
        == "files of type .txt are not accepted"
    )
    assert (
        attachment_refusal(filename="README", content=TEXT, content_type="")
        == "files of type .(none) are not accepted"
    )


def test_allowed_types_are_judged_by_the_content_when_it_shows_one(settings):
    settings.HELPDESK = {**settings.HELPDESK, "ATTACHMENT_ALLOWED_TYPES": ["image/*"]}

    assert attachment_refusal(filename="a.png", content=PNG, content_type="") is None
    assert attachment_refusal(filename="a.jpg", content=JPEG, content_type="") is None
    # a PDF named and declared as an image is still a PDF
    assert (
        attachment_refusal(filename="a.png", content=PDF, content_type="image/png")
        == "files of type application/pdf are not accepted"
    )
    # plain text shows no type: the declared one, else the name's, decides
    assert (
        attachment_refusal(filename="a.txt", content=TEXT, content_type="")
        == "files of type unknown are not accepted"
    )


def test_denied_wins_and_the_operator_can_change_the_lists(settings):
    settings.HELPDESK = {
        **settings.HELPDESK,
        "ATTACHMENT_ALLOWED_EXTENSIONS": ["exe", "pdf"],
        "ATTACHMENT_DENIED_EXTENSIONS": ["pdf"],
        "ATTACHMENT_DENIED_TYPES": [],
    }

    assert attachment_refusal(filename="tool.exe", content=PE, content_type="") is None
    assert (
        attachment_refusal(filename="a.pdf", content=PDF, content_type="")
        == "files of type .pdf are not accepted"
    )


def test_files_store_refuses_the_whole_set_naming_each_file_and_stores_nothing(db, nothing_written):
    files = [
        NewAttachment("ok.txt", TEXT, "text/plain"),
        NewAttachment("tool.exe", PE, ""),
        NewAttachment("cv.pdf", ELF, "application/pdf"),
    ]

    with nothing_written(), pytest.raises(AttachmentRefused) as refused:
        files_store(files)

    assert refused.value.status == 400
    assert refused.value.code == "attachment_refused"
    assert refused.value.fields == {
        "attachments": [
            "tool.exe: files of type .exe are not accepted.",
            "cv.pdf: its content is a program or script (application/x-executable).",
        ]
    }
    assert StoredFile.objects.count() == 0


def test_stored_files_and_their_folders_are_for_the_owner_only(db, settings):
    stored = files_store([NewAttachment("ok.txt", TEXT, "text/plain")])[0][1]

    path = Path(stored.file.path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert settings.FILE_UPLOAD_PERMISSIONS == 0o600
    assert settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS == 0o700


def test_only_safe_raster_images_whose_bytes_agree_are_shown_inline():
    assert inline_type("image/png", PNG) == "image/png"
    assert inline_type("image/jpeg; charset=x", JPEG) == "image/jpeg"
    assert inline_type("image/png", b"<svg onload=alert(1)>") is None
    assert inline_type("image/svg+xml", b"<svg/>") is None
    assert inline_type("image/bmp", b"BM" + b"\x00" * 60) is None
    assert inline_type("text/html", PNG) is None
