"""Talk to the ewstest emulator with exchangelib, an independent EWS client.

Usage: EWS_PASSWORD=... [EWS_AUTH=NTLM] /usr/bin/python3 exchangelib_probe.py URL USER MAILBOX MAJOR MINOR MAJORBUILD MINORBUILD

Connects with Basic auth, or NTLM when EWS_AUTH=NTLM (the emulator's
self-signed certificate is not verified), impersonates MAILBOX, walks the folders below msgfolderroot,
reads the inbox items with their MIME content and the public folders, and
prints what it saw as one JSON object on stdout.
"""

import hashlib
import json
import os
import sys

from exchangelib import BASIC, IMPERSONATION, NTLM, Account, Build, Configuration, Credentials, Version
from exchangelib.protocol import BaseProtocol, NoVerifyHTTPAdapter

BaseProtocol.HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter


def main():
    url, user, mailbox = sys.argv[1:4]
    build = Build(*(int(x) for x in sys.argv[4:8]))
    config = Configuration(
        service_endpoint=url,
        credentials=Credentials(user, os.environ["EWS_PASSWORD"]),
        auth_type=NTLM if os.environ.get("EWS_AUTH") == "NTLM" else BASIC,
        version=Version(build=build),
        max_connections=1,
    )
    account = Account(primary_smtp_address=mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)

    folders = sorted(f.name for f in account.msg_folder_root.walk())

    inbox = {}
    for item in account.inbox.all().only("subject", "mime_content"):
        inbox[item.id] = {
            "subject": item.subject,
            "sha256": hashlib.sha256(item.mime_content or b"").hexdigest(),
            "size": len(item.mime_content or b""),
        }

    calendar = sorted(i.subject for i in account.calendar.all().only("subject"))

    print(json.dumps({
        "api_version": account.version.api_version,
        "folders": folders,
        "inbox": inbox,
        "calendar": calendar,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
