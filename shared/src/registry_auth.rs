//! Private registry credentials from `imagePullSecrets`: Secrets of type
//! `kubernetes.io/dockerconfigjson`, whose `.dockerconfigjson` key holds a Docker config
//! (`{"auths": {"registry.example:5000": {"username", "password"} or {"auth": base64(u:p)}}}`).
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::secret::Secret;

/// The type of a Secret that holds registry credentials.
pub const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
/// Its key.
pub const DOCKER_CONFIG_KEY: &str = ".dockerconfigjson";
/// How Docker names the default registry in its config files.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// Credentials for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    /// As the config names it (`registry.example:5000`).
    pub server: String,
    pub username: String,
    pub password: String,
}

/// The registry an image reference names: its first path element when that looks like a host
/// (has a `.` or a `:`, or is `localhost`), else Docker Hub.
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => DOCKER_HUB,
    }
}

fn host_of(server: &str) -> &str {
    let s = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    s.split('/').next().unwrap_or(s)
}

/// The credentials `secret` holds for `image`'s registry, if any.
pub fn credentials_for(image: &str, secret: &Secret) -> Option<RegistryAuth> {
    let config: serde_json::Value =
        serde_json::from_slice(secret.data.get(DOCKER_CONFIG_KEY)?).ok()?;
    let wanted = registry_of(image);
    let hub = wanted == DOCKER_HUB;
    let (server, entry) = config
        .get("auths")?
        .as_object()?
        .iter()
        .find(|(server, _)| {
            let host = host_of(server);
            host == wanted
                || (hub && ["index.docker.io", "docker.io", "registry-1.docker.io"].contains(&host))
        })?;
    let text = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (username, password) = match (text("username"), text("password")) {
        (Some(u), Some(p)) => (u, p),
        _ => {
            let decoded = STANDARD.decode(text("auth")?).ok()?;
            let pair = String::from_utf8(decoded).ok()?;
            let (u, p) = pair.split_once(':')?;
            (u.to_string(), p.to_string())
        }
    };
    Some(RegistryAuth {
        server: server.clone(),
        username,
        password,
    })
}

/// Checks a `kubernetes.io/dockerconfigjson` Secret: its key holds a Docker config.
pub fn validate(secret: &Secret) -> Result<(), String> {
    let Some(bytes) = secret.data.get(DOCKER_CONFIG_KEY) else {
        return Err(format!("data[{DOCKER_CONFIG_KEY}]: Required value"));
    };
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        format!("data[{DOCKER_CONFIG_KEY}]: Invalid value: not a Docker config (JSON): {e}")
    })?;
    if !v.get("auths").is_some_and(|a| a.is_object()) {
        return Err(format!(
            "data[{DOCKER_CONFIG_KEY}]: Invalid value: a Docker config needs an \"auths\" object"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(config: &str) -> Secret {
        let mut s = Secret::new("default", "regcred", DOCKER_CONFIG_JSON);
        s.set_text(DOCKER_CONFIG_KEY, config);
        s
    }

    #[test]
    fn credentials_match_the_images_registry() {
        let s = secret(
            r#"{"auths": {"registry.example:5000": {"username": "u", "password": "p"},
                          "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="}}}"#,
        );
        let private = credentials_for("registry.example:5000/team/app:1", &s).unwrap();
        assert_eq!(
            (private.username.as_str(), private.password.as_str()),
            ("u", "p")
        );
        let hub = credentials_for("library/nginx:1.25", &s).unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("hub", "secret")
        );
        assert_eq!(credentials_for("other.example/app", &s), None);
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert_eq!(registry_of("busybox"), DOCKER_HUB);
        assert!(validate(&secret("{}")).unwrap_err().contains("\"auths\""));
        assert!(validate(&secret("nope"))
            .unwrap_err()
            .contains("not a Docker config"));
    }
}
