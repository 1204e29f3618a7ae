"""Staging a submission: only regular files of known exercises, nothing from outside the submission,
and every bad input becomes a problem of the exercise it concerns (the others are still staged)."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from grader.sandbox import staging as sub
from grader.sandbox.staging import stage

IDS = ["sigmoid", "softmax"]
GOOD = b"import torch\n\ndef sigmoid(x):\n    return 1 / (1 + torch.exp(-x))\n"
OTHER = b"def softmax(x, dim=-1):\n    return x.softmax(dim)\n"


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _zip(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return path


def _staged(tmp_path: Path, source: Path):
    return stage(source, IDS, tmp_path / "dest")


def test_folder_stages_only_exercise_files(tmp_path):
    src = _tree(tmp_path / "s", {"sigmoid/sigmoid.py": GOOD, "sigmoid/helper.py": b"X = 1\n",
                                  "sigmoid/test_mine.py": b"", "sigmoid/__pycache__/x.pyc": b"",
                                  "softmax/softmax.py": OTHER, "notes/secret.txt": b"x", "setup.py": b""})
    staged = _staged(tmp_path, src)
    assert staged.found == ("sigmoid", "softmax") and staged.problems == {} and staged.error is None
    files = sorted(str(p.relative_to(staged.root)) for p in staged.root.rglob("*") if p.is_file())
    assert files == ["sigmoid/helper.py", "sigmoid/sigmoid.py", "softmax/softmax.py"]


def test_one_wrapping_folder_is_fine(tmp_path):
    src = _tree(tmp_path / "s", {"mywork/sigmoid/sigmoid.py": GOOD})
    assert _staged(tmp_path, src).found == ("sigmoid",)


def test_link_out_of_the_submission_is_refused_and_the_other_exercise_staged(tmp_path):
    outside = _tree(tmp_path / "course", {"solutions/sigmoid/sigmoid.py": GOOD})
    src = _tree(tmp_path / "s", {"sigmoid/sigmoid.py": b"def sigmoid(x): ...\n", "softmax/softmax.py": OTHER})
    (src / "sigmoid" / "ref.py").symlink_to(outside / "solutions" / "sigmoid" / "sigmoid.py")
    staged = _staged(tmp_path, src)
    assert "points outside the submission" in staged.problems["sigmoid"]
    assert "sigmoid" not in staged.found and staged.found == ("softmax",)
    assert not (staged.root / "sigmoid" / "ref.py").exists()


def test_exercise_folder_linked_to_the_solutions_is_refused(tmp_path):
    outside = _tree(tmp_path / "course", {"solutions/sigmoid/sigmoid.py": GOOD})
    src = _tree(tmp_path / "s", {"softmax/softmax.py": OTHER})
    (src / "sigmoid").symlink_to(outside / "solutions" / "sigmoid", target_is_directory=True)
    staged = _staged(tmp_path, src)
    assert "points outside the submission" in staged.problems["sigmoid"]
    assert not (staged.root / "sigmoid").exists() and staged.found == ("softmax",)


def test_main_file_linked_to_a_system_file_is_refused(tmp_path):
    src = _tree(tmp_path / "s", {"softmax/softmax.py": OTHER})
    (src / "sigmoid").mkdir()
    (src / "sigmoid" / "sigmoid.py").symlink_to("/etc/passwd")
    staged = _staged(tmp_path, src)
    assert "points outside" in staged.problems["sigmoid"] and staged.found == ("softmax",)


def test_links_inside_the_submission_are_followed(tmp_path):
    src = _tree(tmp_path / "s", {"drafts/sigmoid.py": GOOD})
    (src / "sigmoid").mkdir()
    (src / "sigmoid" / "sigmoid.py").symlink_to(src / "drafts" / "sigmoid.py")
    staged = _staged(tmp_path, src)
    assert staged.found == ("sigmoid",) and (staged.root / "sigmoid" / "sigmoid.py").read_bytes() == GOOD


def test_broken_and_looping_links_do_not_crash(tmp_path):
    src = _tree(tmp_path / "s", {"sigmoid/sigmoid.py": GOOD})
    (src / "sigmoid" / "gone.py").symlink_to(src / "nowhere.py")
    (src / "sigmoid" / "a").symlink_to(src / "sigmoid" / "b")
    (src / "sigmoid" / "b").symlink_to(src / "sigmoid" / "a")
    staged = _staged(tmp_path, src)
    assert "sigmoid" in staged.problems  # reported, not raised


def test_fifo_is_never_opened(tmp_path):
    src = _tree(tmp_path / "s", {"sigmoid/sigmoid.py": GOOD})
    os.mkfifo(src / "sigmoid" / "pipe.py")  # opening it for reading would block forever
    staged = _staged(tmp_path, src)
    assert staged.found == ("sigmoid",) and not (staged.root / "sigmoid" / "pipe.py").exists()


def test_non_utf8_source_is_a_problem_but_a_coding_declaration_is_fine(tmp_path):
    src = _tree(tmp_path / "s", {"sigmoid/sigmoid.py": b"def sigmoid(x):\n    return x  # caf\xe9\n",
                                  "softmax/softmax.py": b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + OTHER})
    staged = _staged(tmp_path, src)
    assert "not valid UTF-8" in staged.problems["sigmoid"] and staged.found == ("softmax",)


def test_enormous_file_is_a_problem_of_its_exercise_only(tmp_path):
    src = _tree(tmp_path / "s", {"sigmoid/sigmoid.py": GOOD, "softmax/softmax.py": OTHER})
    with open(src / "sigmoid" / "weights.bin", "wb") as f:
        f.truncate(sub.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    staged = _staged(tmp_path, src)
    assert "too large" in staged.problems["sigmoid"] and staged.found == ("softmax",)


def test_too_many_files_and_too_deep_trees_are_problems(tmp_path):
    many = {f"sigmoid/data/f{i}.txt": b"x" for i in range(sub.MAX_FILES + 1)}
    deep = "softmax/" + "/".join(f"d{i}" for i in range(sub.MAX_DEPTH + 2)) + "/x.py"
    src = _tree(tmp_path / "s", {"sigmoid/sigmoid.py": GOOD, **many, "softmax/softmax.py": OTHER, deep: b""})
    staged = _staged(tmp_path, src)
    assert "too many files" in staged.problems["sigmoid"]
    assert "nested too deeply" in staged.problems["softmax"]


def test_missing_submission_is_an_error_not_an_exception(tmp_path):
    staged = _staged(tmp_path, tmp_path / "absent")
    assert staged.found == () and "does not exist" in staged.error


# Zip archives ----------------------------------------------------------------------------------

def test_zip_stages_like_a_folder(tmp_path):
    z = _zip(tmp_path / "s.zip", {"work/sigmoid/sigmoid.py": GOOD, "work/softmax/softmax.py": OTHER,
                                   "work/other/x.py": b""})
    staged = _staged(tmp_path, z)
    assert staged.found == ("sigmoid", "softmax") and staged.problems == {}


def test_file_that_is_not_a_zip_is_a_clear_error(tmp_path):
    fake = tmp_path / "s.zip"
    fake.write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    staged = _staged(tmp_path, fake)
    assert staged.found == () and "not a readable zip archive" in staged.error


@pytest.mark.parametrize("name", ["sigmoid/../../escape.py", "/sigmoid/abs.py", "sigmoid\\..\\win.py",
                                  "sigmoid/../sigmoid/../../x.py"])
def test_zip_paths_escaping_the_root_are_refused(tmp_path, name):
    z = _zip(tmp_path / "s.zip", {"sigmoid/sigmoid.py": GOOD, name: b"print('escaped')", "softmax/softmax.py": OTHER})
    staged = _staged(tmp_path, z)
    assert "escapes the archive's root" in staged.problems["sigmoid"]
    assert staged.found == ("softmax",)
    assert not any(p.name in ("escape.py", "abs.py", "x.py") for p in tmp_path.rglob("*.py"))


def test_zip_link_entries_are_refused(tmp_path):
    z = _zip(tmp_path / "s.zip", {"sigmoid/sigmoid.py": GOOD, "softmax/softmax.py": OTHER},
             links={"sigmoid/ref.py": "/work/main/solutions/sigmoid/sigmoid.py"})
    staged = _staged(tmp_path, z)
    assert "is a link" in staged.problems["sigmoid"] and staged.found == ("softmax",)


def test_zip_bomb_declared_size_is_refused_before_reading(tmp_path):
    z = _zip(tmp_path / "s.zip", {"sigmoid/sigmoid.py": GOOD, "sigmoid/bomb.bin": b"\0" * (sub.MAX_FILE_BYTES + 1),
                                   "softmax/softmax.py": OTHER})
    assert z.stat().st_size < 64 * 1024  # tiny on disk
    staged = _staged(tmp_path, z)
    assert "too large" in staged.problems["sigmoid"] and staged.found == ("softmax",)


def test_zip_bomb_lying_about_its_size_is_refused(tmp_path):
    big = b"\0" * (8 * 2**20)
    z = _zip(tmp_path / "s.zip", {"sigmoid/sigmoid.py": GOOD, "sigmoid/bomb.bin": big, "softmax/softmax.py": OTHER})
    raw = bytearray(z.read_bytes())
    # Rewrite the declared (uncompressed) size of bomb.bin to 10 bytes, in both headers.
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (pos := raw.find(sig, start)) >= 0:
            name_len_at = pos + (26 if sig == b"PK\x03\x04" else 28)
            name_len = int.from_bytes(raw[name_len_at:name_len_at + 2], "little")
            name = bytes(raw[pos + (30 if sig == b"PK\x03\x04" else 46):][:name_len])
            if name.endswith(b"bomb.bin"):
                raw[pos + offset:pos + offset + 4] = (10).to_bytes(4, "little")
            start = pos + 4
    z.write_bytes(bytes(raw))
    staged = _staged(tmp_path, z)
    assert "sigmoid" in staged.problems and staged.found == ("softmax",)
    assert not (staged.root / "sigmoid" / "bomb.bin").exists()


def test_zip_with_too_many_entries_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sub, "MAX_ZIP_ENTRIES", 50)
    z = _zip(tmp_path / "s.zip", {f"sigmoid/f{i}.txt": b"" for i in range(51)})
    staged = _staged(tmp_path, z)
    assert staged.found == () and "too many entries" in staged.error


def test_zip_names_the_os_refuses_do_not_crash(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("sigmoid/sigmoid.py", GOOD)
        z.writestr("sigmoid/" + "n" * 300 + ".py", b"")  # a name longer than any file system takes
        z.writestr("softmax/softmax.py", OTHER)
        z.writestr("softmax/softmax.py/inner.py", b"")  # a file and a folder of the same name
    path = tmp_path / "s.zip"
    path.write_bytes(buf.getvalue())
    staged = _staged(tmp_path, path)
    assert "named too long" in staged.problems["sigmoid"]
    assert "softmax" in staged.problems  # the second entry could not be staged: reported
