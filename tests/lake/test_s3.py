"""Data files on S3-compatible object storage: moto's S3 server on loopback, a real HTTP endpoint."""
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lake import Lake
from tests.helpers.lakefill import files_sql

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "AKIAREPOLLMTEST00001", "s3-secret-never-stored-anywhere"


@pytest.fixture
def s3_endpoint(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    import boto3
    boto3.client("s3", endpoint_url=url, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                 region_name="us-east-1").create_bucket(Bucket="corpus")
    # credentials reach the lake only through the environment, as a user would give them
    for k, v in {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ENDPOINT_URL": url,
                 "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    yield url
    server.terminate()
    server.wait()


@pytest.mark.slow
def test_lake_writes_parquet_to_object_storage_without_storing_credentials(tmp_path, s3_endpoint):
    import boto3
    with Lake(tmp_path / "lake", data_path="s3://corpus/lake") as lk:
        lk.write("files", files_sql("a/x", 500))
        with lk.run("test", {"data_path": "s3://corpus/lake"}):
            pass
        assert lk.count("files") == 500
    objects = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                           region_name="us-east-1").list_objects_v2(Bucket="corpus", Prefix="lake/")
    assert any(o["Key"].endswith(".parquet") for o in objects.get("Contents", []))
    with Lake(tmp_path / "lake", data_path="s3://corpus/lake") as again:
        assert again.query("SELECT count(*) n FROM files").to_pylist() == [{"n": 500}]
    for path in (tmp_path / "lake").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
