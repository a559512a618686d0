//! End-to-end tests of [`super::convert`] and [`super::project_name`]: whole Compose files in,
//! objects, unsupported keys and warnings out.
use std::path::Path;

use serde_json::{json, Value};

use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/me".into()),
        "POSTGRES_PASSWORD" => Some("hunter2".into()),
        "WEB_PORT" => Some("8080".into()),
        "TZ" => Some("Europe/Paris".into()),
        _ => None,
    }
}

fn run(text: &str) -> Result<Conversion, ComposeError> {
    convert(text, "homelab", Path::new("/srv/homelab"), &env)
}

fn kinds_and_names(c: &Conversion) -> Vec<(String, String)> {
    c.objects
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default().to_string(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn object<'a>(c: &'a Conversion, kind: &str, name: &str) -> &'a Value {
    c.objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn paths(c: &Conversion) -> Vec<&str> {
    c.unsupported.iter().map(|u| u.path.as_str()).collect()
}

const HOME_LAB: &str = r#"
name: HomeLab
version: "3.8"

x-common: &common
  restart: unless-stopped
  environment:
    TZ: ${TZ}

services:
  web:
    <<: *common
    image: ghcr.io/example/webapp:${WEB_TAG:-1.4.2}
    command: ["gunicorn", "app:app", "--bind", "0.0.0.0:8000"]
    ports:
      - "${WEB_PORT}:8000"
    environment:
      DATABASE_URL: postgres://app:${POSTGRES_PASSWORD}@db:5432/app
      REDIS_URL: redis://cache:6379/0
      TZ:
    volumes:
      - ./uploads:/app/uploads
      - ./config/app.toml:/app/config.toml:ro
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
    healthcheck:
      test: curl -fsS http://localhost:8000/health || exit 1
      interval: 15s
      timeout: 3s
      retries: 5
      start_period: 20s
    deploy:
      resources:
        limits: {cpus: "1.5", memory: 512M}
        reservations: {memory: 128M}
    labels:
      traefik.enable: "true"
      traefik.http.routers.web.rule: Host(`app.home.lan`)

  db:
    <<: *common
    image: postgres:16-alpine
    environment:
      - POSTGRES_USER=app
      - POSTGRES_DB=app
      - POSTGRES_PASSWORD
    volumes:
      - db-data:/var/lib/postgresql/data
      - backups:/backups
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U app -d app"]
      interval: 10s
      timeout: 5s
      retries: 5
    deploy:
      placement:
        constraints:
          - node.hostname == nas
    stop_grace_period: 1m30s

  cache:
    image: redis:7-alpine
    command: redis-server --save 60 1 --loglevel warning
    restart: always
    volumes:
      - cache-data:/data
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
    networks: [backend]

  backup:
    image: postgres:16-alpine
    restart: "no"
    entrypoint: /bin/sh -c
    command: ["pg_dump -h db -U app app > /backups/app.sql"]
    volumes:
      - backups:/backups

volumes:
  db-data:
  cache-data:
  backups:
    labels:
      purpose: backups

networks:
  backend:
"#;

#[test]
fn a_home_lab_end_to_end() {
    let project = project_name(HOME_LAB, "some-dir", &env).unwrap();
    assert_eq!(project, "homelab");
    let c = convert(HOME_LAB, &project, Path::new("/srv/homelab"), &env).unwrap();
    assert_eq!(c.project, "homelab");
    assert_eq!(
        kinds_and_names(&c),
        [
            ("PersistentVolumeClaim".into(), "homelab-backups".into()),
            ("PersistentVolumeClaim".into(), "homelab-cache-data".into()),
            ("PersistentVolumeClaim".into(), "homelab-db-data".into()),
            ("Pod".into(), "homelab-backup".into()),
            ("Deployment".into(), "homelab-cache".into()),
            ("Deployment".into(), "homelab-db".into()),
            ("Deployment".into(), "homelab-web".into()),
        ]
    );
    assert!(c
        .objects
        .iter()
        .all(|o| o["metadata"].get("namespace").is_none()));
    assert!(c
        .objects
        .iter()
        .all(|o| o["metadata"]["labels"][PROJECT_LABEL] == "homelab"));
    assert_eq!(
        object(&c, "PersistentVolumeClaim", "homelab-backups")["metadata"]["annotations"],
        json!({"purpose": "backups"})
    );

    // web
    let web = object(&c, "Deployment", "homelab-web");
    assert_eq!(web["spec"]["replicas"], 1);
    assert_eq!(
        web["spec"]["selector"]["matchLabels"],
        json!({PROJECT_LABEL: "homelab", SERVICE_LABEL: "web"})
    );
    assert_eq!(
        web["metadata"]["annotations"]["traefik.http.routers.web.rule"],
        "Host(`app.home.lan`)"
    );
    let pod = &web["spec"]["template"]["spec"];
    let c0 = &pod["containers"][0];
    assert_eq!(c0["name"], "web");
    assert_eq!(c0["image"], "ghcr.io/example/webapp:1.4.2");
    assert!(c0.get("command").is_none());
    assert_eq!(
        c0["args"],
        json!(["gunicorn", "app:app", "--bind", "0.0.0.0:8000"])
    );
    assert_eq!(
        c0["ports"],
        json!([{"containerPort": 8000, "hostPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        c0["env"],
        json!([
            {"name": "DATABASE_URL", "value": "postgres://app:hunter2@db:5432/app"},
            {"name": "REDIS_URL", "value": "redis://cache:6379/0"},
            {"name": "TZ", "value": "Europe/Paris"},
        ])
    );
    let probe = json!({
        "exec": {"command": ["/bin/sh", "-c", "curl -fsS http://localhost:8000/health || exit 1"]},
        "initialDelaySeconds": 20, "periodSeconds": 15, "timeoutSeconds": 3,
        "failureThreshold": 5,
    });
    assert_eq!(c0["livenessProbe"], probe);
    assert_eq!(c0["readinessProbe"], probe);
    assert_eq!(
        c0["resources"],
        json!({"limits": {"cpu": "1500m", "memory": "512Mi"}, "requests": {"memory": "128Mi"}})
    );
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "uploads", "hostPath": {"path": "/srv/homelab/uploads"}},
            {"name": "app-toml", "hostPath": {"path": "/srv/homelab/config/app.toml"}},
        ])
    );
    assert_eq!(
        c0["volumeMounts"],
        json!([
            {"name": "uploads", "mountPath": "/app/uploads"},
            {"name": "app-toml", "mountPath": "/app/config.toml", "readOnly": true},
        ])
    );

    // db
    let db = object(&c, "Deployment", "homelab-db");
    let pod = &db["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"],
        json!({"kubernetes.io/hostname": "nas"})
    );
    assert_eq!(pod["terminationGracePeriodSeconds"], 90);
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "db-data", "persistentVolumeClaim": {"claimName": "homelab-db-data"}},
            {"name": "backups", "persistentVolumeClaim": {"claimName": "homelab-backups"}},
        ])
    );
    assert_eq!(
        pod["containers"][0]["env"],
        json!([
            {"name": "POSTGRES_USER", "value": "app"},
            {"name": "POSTGRES_DB", "value": "app"},
            {"name": "POSTGRES_PASSWORD", "value": "hunter2"},
        ]),
        "the service's environment replaces the merged one, as YAML merge keys do"
    );
    assert_eq!(
        pod["containers"][0]["livenessProbe"]["exec"]["command"],
        json!(["/bin/sh", "-c", "pg_isready -U app -d app"])
    );

    // cache
    let cache = object(&c, "Deployment", "homelab-cache");
    let c0 = &cache["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c0["args"],
        json!(["redis-server", "--save", "60", "1", "--loglevel", "warning"])
    );
    assert_eq!(
        c0["readinessProbe"],
        json!({"exec": {"command": ["redis-cli", "ping"]}, "initialDelaySeconds": 0,
               "periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3})
    );

    // backup: restart "no" is a bare pod
    let backup = object(&c, "Pod", "homelab-backup");
    assert_eq!(backup["spec"]["restartPolicy"], "Never");
    assert_eq!(
        backup["spec"]["containers"][0]["command"],
        json!(["/bin/sh", "-c"])
    );
    assert_eq!(
        backup["spec"]["containers"][0]["args"],
        json!(["pg_dump -h db -U app app > /backups/app.sql"])
    );
    assert_eq!(
        backup["metadata"]["labels"],
        json!({PROJECT_LABEL: "homelab", SERVICE_LABEL: "backup"})
    );

    assert_eq!(
        paths(&c),
        [
            "networks",
            "services.cache.networks",
            "services.web.depends_on"
        ]
    );
    assert_eq!(
        c.unsupported[2].reason,
        "services start together; Bosun has no start order"
    );
    // A used default (WEB_TAG) warns of nothing.
    assert_eq!(
        c.warnings,
        [
            "services reach each other by service name under Compose; Bosun has no Services or \
          cluster DNS, so a service's name does not resolve in the other containers"
        ]
    );
}

#[test]
fn a_named_volume_shared_by_two_services_is_claimed_once() {
    let c = run(
        "services:\n  a:\n    image: x\n    volumes: [shared:/data]\n  b:\n    image: y\n    \
         volumes: ['shared:/data:ro']\nvolumes:\n  shared: {}\n  unused: {}\n",
    )
    .unwrap();
    assert_eq!(
        kinds_and_names(&c),
        [
            ("PersistentVolumeClaim".into(), "homelab-shared".into()),
            ("Deployment".into(), "homelab-a".into()),
            ("Deployment".into(), "homelab-b".into()),
        ]
    );
    let claim = &c.objects[0];
    assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteOnce"]));
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
    assert_eq!(
        claim["metadata"]["labels"],
        json!({PROJECT_LABEL: "homelab"})
    );
}

#[test]
fn interpolation_through_the_file() {
    let c = run(
        "services:\n  web:\n    image: \"nginx:${TAG:-latest}\"\n    ports: ['${WEB_PORT}:80']\n    \
         environment:\n      PRICE: $$5\n      EMPTY: ${NOPE}\n      HOME_DIR: $HOME\n    \
         deploy:\n      replicas: ${REPLICAS:-2}\n",
    )
    .unwrap();
    let d = &c.objects[0];
    assert_eq!(d["spec"]["replicas"], 2);
    let c0 = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c0["image"], "nginx:latest");
    assert_eq!(c0["ports"][0]["hostPort"], 8080);
    assert_eq!(
        c0["env"],
        json!([
            {"name": "EMPTY", "value": ""},
            {"name": "HOME_DIR", "value": "/home/me"},
            {"name": "PRICE", "value": "$5"},
        ])
    );
    assert_eq!(
        c.warnings,
        ["The \"NOPE\" variable is not set. Defaulting to a blank string."]
    );

    let e = run(
        "services:\n  db:\n    image: postgres\n    environment:\n      \
                 PW: ${DB_PW:?set DB_PW in .env}\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "services.db.environment.PW: required variable DB_PW is missing a value: set DB_PW in .env"
    );
    // Extension fields are neither interpolated nor converted.
    let c = run("x-base:\n  bad: ${X:?never read}\nservices:\n  a:\n    image: x\n").unwrap();
    assert!(c.unsupported.is_empty() && c.warnings.is_empty());
}

#[test]
fn top_level_keys() {
    let c = run(
        "version: '3'\nservices:\n  a:\n    image: x\nnetworks:\n  n: {}\nsecrets:\n  s:\n    \
         file: ./s\nconfigs:\n  c:\n    file: ./c\ninclude: [other.yml]\nx-thing: 1\nwhat: 1\n\
         volumes:\n  ext:\n    external: true\n  nfs:\n    driver: nfs-plugin\n",
    )
    .unwrap();
    assert_eq!(
        paths(&c),
        [
            "configs",
            "include",
            "networks",
            "secrets",
            "volumes.ext.external",
            "volumes.nfs.driver",
            "what",
        ]
    );
}

#[test]
fn profiles_follow_compose_profiles() {
    let text = "services:\n  a:\n    image: x\n  debug:\n    image: y\n    profiles: [debug]\n";
    let c = run(text).unwrap();
    assert_eq!(
        kinds_and_names(&c),
        [("Deployment".into(), "homelab-a".into())]
    );
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("\"debug\" is not started"));
    let with = |n: &str| (n == "COMPOSE_PROFILES").then(|| "other,debug".to_string());
    let c = convert(text, "p", Path::new("/"), &with).unwrap();
    assert_eq!(c.objects.len(), 2);
}

#[test]
fn file_errors() {
    let err = |t: &str| run(t).unwrap_err().to_string();
    assert_eq!(
        err("version: '3'\n"),
        "services: the file defines no services"
    );
    assert_eq!(err("services:\n"), "services: the file defines no services");
    assert!(err("").contains("empty"));
    assert!(err("services: [a]\n").contains("services: must be a mapping"));
    assert!(err("services:\n  'bad name':\n    image: x\n").contains("a service name"));
    assert!(
        err("services:\n  web_1:\n    image: x\n  web-1:\n    image: y\n")
            .contains("as those of service")
    );
    assert!(
        err("services:\n  a:\n    image: x\n    ports: ['80:abc']\n")
            .starts_with("services.a.ports[0]: invalid port \"80:abc\"")
    );
    assert!(err("services: {a: {image: x}\n").starts_with("yaml: "));
    let e = convert(
        "services: {a: {image: x}}",
        "Bad Name",
        Path::new("/"),
        &env,
    )
    .unwrap_err();
    assert!(e.message.starts_with("invalid project name \"Bad Name\""));
    assert!(convert("services: {a: {image: x}}", "", Path::new("/"), &env).is_err());
}

#[test]
fn project_names() {
    let none = |_: &str| None;
    assert_eq!(
        project_name("services: {}", "My Lab", &none).unwrap(),
        "mylab"
    );
    assert_eq!(
        project_name("name: Media_Stack\n", "dir", &none).unwrap(),
        "media_stack"
    );
    assert_eq!(project_name("name: ''\n", "dir", &none).unwrap(), "dir");
    assert_eq!(
        project_name("", "dir", &none).unwrap_err().message,
        "the Compose file is empty"
    );
    let vars = |n: &str| (n == "STACK").then(|| "Prod".to_string());
    assert_eq!(
        project_name("name: ${STACK}-media\n", "dir", &vars).unwrap(),
        "prod-media"
    );
    assert!(project_name("services: {}", "...", &none).is_err());
    let fixed = |n: &str| (n == "COMPOSE_PROJECT_NAME").then(|| "fixed".to_string());
    assert_eq!(
        project_name("name: other\n", "dir", &fixed).unwrap(),
        "fixed"
    );
    let bad = |n: &str| (n == "COMPOSE_PROJECT_NAME").then(|| "Not OK".to_string());
    assert!(project_name("name: other\n", "dir", &bad).is_err());
}

#[test]
fn long_names_are_cut_to_63() {
    let long = "s".repeat(80);
    let c = run(&format!(
        "services:\n  {long}:\n    image: x\n    restart: 'no'\n    deploy: {{replicas: 2}}\n"
    ))
    .unwrap();
    for o in &c.objects {
        let name = o["metadata"]["name"].as_str().unwrap();
        assert!(name.len() <= 63, "{name}");
        assert!(
            o["metadata"]["labels"][SERVICE_LABEL]
                .as_str()
                .unwrap()
                .len()
                <= 63
        );
    }
    assert_eq!(
        c.objects[1]["metadata"]["name"]
            .as_str()
            .unwrap()
            .rsplit('-')
            .next(),
        Some("2")
    );
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "services:\n  a: 1\n",
        "services:\n  a: [1]\n",
        "services:\n  a:\n    image: [x]\n",
        "services:\n  a:\n    image: x\n    ports: {a: 1}\n",
        "services:\n  a:\n    image: x\n    volumes: [{}]\n",
        "services:\n  a:\n    image: x\n    deploy: 3\n",
        "services:\n  a:\n    image: x\n    healthcheck: []\n",
        "services:\n  a:\n    image: x\n    environment: 5\n",
        "services:\n  a:\n    image: x\n    labels: [[1]]\n",
        "services:\n  a:\n    image: x\n    restart: {a: 1}\n",
        "services:\n  a:\n    image: x\n    tmpfs: 3\n",
        "services:\n  a:\n    image: x\n    stop_grace_period: -1s\n",
        "services:\n  a:\n    image: x\n    ports: ['99999999999999999999:1']\n",
        "services:\n  a:\n    image: x\n    cpus: 1e400\n",
        "services:\n  a:\n    image: '$'\n",
        "volumes: 3\nservices:\n  a:\n    image: x\n",
        "42\n",
        "[1, 2]\n",
        "name: [1]\nservices: {}\n",
    ];
    for text in odd {
        let _ = run(text);
        let _ = project_name(text, "d", &env);
    }
}

#[test]
fn yaml_1_1_words_stay_strings() {
    let c = run(
        "services:\n  job:\n    image: x\n    restart: no\n    environment:\n      \
                 DEBUG: yes\n      FEATURE: off\n",
    )
    .unwrap();
    let pod = &c.objects[0];
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(
        pod["spec"]["containers"][0]["env"],
        json!([{"name": "DEBUG", "value": "yes"}, {"name": "FEATURE", "value": "off"}])
    );
}
