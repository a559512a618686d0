//! The test image. No registry is reachable, so tests make their image themselves: a rootfs with
//! the static busybox binary (Debian package `busybox-static`), a link for every applet and a web
//! page, loaded with `docker import` and tagged [`BUSYBOX_IMAGE`].
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{bail, Context};

/// The image every end-to-end test runs.
pub const BUSYBOX_IMAGE: &str = "bosun-test/busybox:latest";
/// The content of `/www/index.html` in the image (serve it with `busybox httpd -f -h /www`).
pub const INDEX_HTML: &str = "hello from bosun\n";
/// Where the static busybox binary comes from.
const BUSYBOX_BIN: &str = "/bin/busybox";

/// Makes sure [`BUSYBOX_IMAGE`] exists in the Docker engine, building it when missing, and
/// returns its name.
///
/// Callers in one process are serialized; two test processes racing is harmless because
/// `docker import` only retags, and the image is looked up again after importing.
pub fn busybox_image() -> anyhow::Result<String> {
    static READY: Mutex<bool> = Mutex::new(false);
    let mut ready = READY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if *ready && image_exists(BUSYBOX_IMAGE)? {
        return Ok(BUSYBOX_IMAGE.to_string());
    }
    if !image_exists(BUSYBOX_IMAGE)? {
        import_image(BUSYBOX_IMAGE)?;
        if !image_exists(BUSYBOX_IMAGE)? {
            bail!("`docker import` succeeded but image {BUSYBOX_IMAGE} is still missing");
        }
    }
    *ready = true;
    Ok(BUSYBOX_IMAGE.to_string())
}

/// Whether the engine has `image` (`docker image inspect`).
fn image_exists(image: &str) -> anyhow::Result<bool> {
    let status = Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("run `docker image inspect` (is the docker CLI installed?)")?;
    Ok(status.success())
}

/// Builds the rootfs in a temporary directory and imports it as `image`.
fn import_image(image: &str) -> anyhow::Result<()> {
    let busybox = Path::new(BUSYBOX_BIN);
    if !busybox.exists() {
        bail!("{BUSYBOX_BIN} is missing: run `apt-get install busybox-static`");
    }
    if !is_static_elf(busybox)? {
        bail!(
            "{BUSYBOX_BIN} is dynamically linked and would not run in a scratch image: \
             run `apt-get install busybox-static`"
        );
    }
    let rootfs = tempfile::tempdir().context("create the rootfs directory")?;
    let root = rootfs.path();
    for dir in ["bin", "www", "tmp", "etc"] {
        std::fs::create_dir_all(root.join(dir)).with_context(|| format!("create /{dir}"))?;
    }
    std::fs::copy(busybox, root.join("bin/busybox")).context("copy busybox into the rootfs")?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).context("link /bin/sh")?;
    for applet in applets(busybox)? {
        let link = root.join("bin").join(&applet);
        if applet != "busybox" && !link.exists() && !applet.contains('/') {
            std::os::unix::fs::symlink("busybox", &link)
                .with_context(|| format!("link /bin/{applet}"))?;
        }
    }
    std::fs::write(root.join("www/index.html"), INDEX_HTML).context("write index.html")?;
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .context("chmod /tmp")?;

    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["--owner=0", "--group=0", "--numeric-owner", "-c", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("run tar")?;
    let tar_out = tar.stdout.take().context("tar stdout")?;
    let import = Command::new("docker")
        .args([
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            r#"CMD ["/bin/sh"]"#,
            "-",
            image,
        ])
        .stdin(Stdio::from(tar_out))
        .output()
        .context("run `docker import`")?;
    let tar_done = tar.wait_with_output().context("wait for tar")?;
    if !tar_done.status.success() {
        bail!(
            "tar of the rootfs failed ({}): {}",
            tar_done.status,
            String::from_utf8_lossy(&tar_done.stderr)
        );
    }
    if !import.status.success() {
        bail!(
            "`docker import - {image}` failed ({}): {}",
            import.status,
            String::from_utf8_lossy(&import.stderr)
        );
    }
    Ok(())
}

/// The applet names busybox knows (`busybox --list`).
fn applets(busybox: &Path) -> anyhow::Result<Vec<String>> {
    let out = Command::new(busybox)
        .arg("--list")
        .output()
        .context("run `busybox --list`")?;
    if !out.status.success() {
        bail!("`busybox --list` failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect())
}

/// Whether `path` is an ELF executable without a program interpreter (statically linked).
fn is_static_elf(path: &Path) -> anyhow::Result<bool> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        bail!("{} is not an ELF binary", path.display());
    }
    let is_64 = bytes[4] == 2;
    let little = bytes[5] == 1;
    let u16_at = |o: usize| -> Option<u64> {
        let b: [u8; 2] = bytes.get(o..o + 2)?.try_into().ok()?;
        Some(u64::from(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }))
    };
    let u32_at = |o: usize| -> Option<u64> {
        let b: [u8; 4] = bytes.get(o..o + 4)?.try_into().ok()?;
        Some(u64::from(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }))
    };
    let u64_at = |o: usize| -> Option<u64> {
        let b: [u8; 8] = bytes.get(o..o + 8)?.try_into().ok()?;
        Some(if little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    };
    let header = if is_64 {
        (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    } else {
        (u32_at(0x1c), u16_at(0x2a), u16_at(0x2c))
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = header else {
        bail!("{} has a truncated ELF header", path.display());
    };
    const PT_INTERP: u64 = 3;
    for i in 0..phnum {
        let at = usize::try_from(phoff + i * phentsize)?;
        match u32_at(at) {
            Some(PT_INTERP) => return Ok(false),
            Some(_) => {}
            None => bail!("{} has truncated ELF program headers", path.display()),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busybox_is_static_and_sh_is_not() {
        assert!(is_static_elf(Path::new(BUSYBOX_BIN)).unwrap());
        // Any dynamically linked system binary.
        assert!(!is_static_elf(Path::new("/usr/bin/tar")).unwrap());
    }

    #[test]
    fn image_builds_and_runs() {
        let image = busybox_image().unwrap();
        assert_eq!(image, BUSYBOX_IMAGE);
        // A second call is served from the cache.
        assert_eq!(busybox_image().unwrap(), BUSYBOX_IMAGE);
        let out = Command::new("docker")
            .args(["run", "--rm", "--label", "bosun-test=harness", &image])
            .args(["/bin/busybox", "echo", "hi"])
            .output()
            .unwrap();
        // `--rm` removes it, but a failed run could leave it behind.
        let _ = crate::docker::remove_by_label("bosun-test=harness");
        assert!(
            out.status.success(),
            "docker run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    }

    #[test]
    fn image_has_shell_applets_and_page() {
        let image = busybox_image().unwrap();
        let out = Command::new("docker")
            .args(["run", "--rm", "--label", "bosun-test=harness-sh", &image])
            .args(["sh", "-c", "cat /www/index.html; sleep 0; echo $PATH"])
            .output()
            .unwrap();
        let _ = crate::docker::remove_by_label("bosun-test=harness-sh");
        assert!(
            out.status.success(),
            "docker run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with(INDEX_HTML), "{stdout}");
        assert!(stdout.contains("/bin"), "{stdout}");
    }
}
