"""Every AWS client a container makes comes from one botocore session: a second session would load the
endpoint data and the service models again, at a cold start's expense."""

from __future__ import annotations

import boto3
import botocore.session
from support import reset_caches

from magiclink import credentials, mailer, signing, store


def test_every_client_comes_from_one_botocore_session(aws, monkeypatch):
    # Given a container that has made no session yet
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    reset_caches()
    made = []
    original = botocore.session.Session.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "__init__", counted)

    # When every client the functions use is created
    store.dynamo.client()
    credentials._provider()
    mailer._client()
    signing._client()

    # Then there was one session, whose data loader (endpoints, models) they all share
    assert len(made) == 1
    loaders = {id(c._loader) for c in (store.dynamo.client(), credentials._provider().client, mailer._client())}
    assert len(loaders) == 1
