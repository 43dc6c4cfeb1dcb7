"""A throwaway certificate authority for TLS tests, made with Debian's openssl CLI."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@dataclass(frozen=True, slots=True)
class ThrowawayCa:
    """A CA's certificate and key in ``directory``; :meth:`issue` signs leaf certificates."""

    directory: Path
    name: str

    @property
    def cert_file(self) -> Path:
        return self.directory / f"{self.name}.crt"

    @property
    def key_file(self) -> Path:
        return self.directory / f"{self.name}.key"

    @classmethod
    def create(cls, directory: Path, name: str = "ca") -> ThrowawayCa:
        ca = cls(directory, name)
        directory.mkdir(parents=True, exist_ok=True)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", f"/CN=safehood test {name}", "-keyout", str(ca.key_file),
                 "-out", str(ca.cert_file))
        return ca

    def issue(self, name: str, *, ip: str | None = None) -> tuple[Path, Path]:
        """A certificate (with ``ip`` as its subject alternative name, for a server) and its
        key, signed by this CA."""
        key = self.directory / f"{name}.key"
        request = self.directory / f"{name}.csr"
        cert = self.directory / f"{name}.crt"
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", str(key), "-out", str(request))
        extensions = self.directory / f"{name}.ext"
        extensions.write_text(f"subjectAltName=IP:{ip}\n" if ip else "basicConstraints=CA:FALSE\n")
        _openssl("x509", "-req", "-in", str(request), "-CA", str(self.cert_file),
                 "-CAkey", str(self.key_file), "-CAcreateserial", "-days", "2",
                 "-extfile", str(extensions), "-out", str(cert))
        return cert, key
