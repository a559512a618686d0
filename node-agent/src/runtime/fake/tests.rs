//! Tests of [`super`]: the `fake` module.
use super::*;
use crate::runtime::PortBinding;
use futures::TryStreamExt;

const IMAGE: &str = "busybox";

fn runtime() -> FakeRuntime {
    let fake = FakeRuntime::new(4000, 8 << 30);
    fake.add_image(IMAGE);
    fake
}

fn spec(name: &str, host_port: Option<u16>) -> ContainerSpec {
    ContainerSpec {
        name: name.to_string(),
        image: IMAGE.to_string(),
        ports: host_port
            .map(|port| PortBinding {
                container_port: 80,
                host_port: Some(port),
                protocol: "tcp".to_string(),
                host_ip: None,
            })
            .into_iter()
            .collect(),
        labels: BTreeMap::from([("app".to_string(), name.to_string())]),
        ..Default::default()
    }
}

/// Label pairs of a table-driven case.
type Filter = &'static [(&'static str, &'static str)];

fn labels(app: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), app.to_string())])
}

#[tokio::test]
async fn info_is_configured() {
    let info = runtime().info().await.unwrap();
    assert_eq!((info.cpu_millis, info.memory_bytes), (4000, 8 << 30));
    assert!(info.version.starts_with("fake://"));
}

#[tokio::test]
async fn lifecycle_create_start_stop_remove() {
    let rt = runtime();
    let id = rt.create(&spec("web", None)).await.unwrap();
    assert_eq!(id, "fake000000000001");
    let listed = rt.list(&labels("web")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, RunState::Created);

    rt.start(&id).await.unwrap();
    let c = &rt.list(&labels("web")).await.unwrap()[0];
    assert_eq!(c.state, RunState::Running);
    assert!(c.started_at.is_some() && c.exit_code.is_none());

    rt.stop(&id, Duration::from_secs(1)).await.unwrap();
    rt.stop(&id, Duration::from_secs(1)).await.unwrap();
    let c = &rt.list(&labels("web")).await.unwrap()[0];
    assert_eq!(c.state, RunState::Exited);
    assert_eq!(c.exit_code, Some(STOPPED_EXIT_CODE));
    assert!(c.finished_at.is_some());

    rt.remove(&id).await.unwrap();
    rt.remove(&id).await.unwrap();
    assert!(rt.list(&labels("web")).await.unwrap().is_empty());
    assert!(matches!(
        rt.start(&id).await,
        Err(RuntimeError::ContainerNotFound(_))
    ));
    assert!(matches!(
        rt.stop(&id, Duration::ZERO).await,
        Err(RuntimeError::ContainerNotFound(_))
    ));
}

#[tokio::test]
async fn list_filters_by_every_label() {
    let rt = runtime();
    rt.create(&spec("a", None)).await.unwrap();
    let mut b = spec("b", None);
    b.labels.insert("tier".to_string(), "db".to_string());
    rt.create(&b).await.unwrap();

    let names = |list: Vec<ObservedContainer>| -> Vec<String> {
        list.into_iter().map(|c| c.name).collect()
    };
    let cases: [(Filter, &[&str]); 4] = [
        (&[], &["a", "b"]),
        (&[("app", "a")], &["a"]),
        (&[("app", "b"), ("tier", "db")], &["b"]),
        (&[("app", "a"), ("tier", "db")], &[]),
    ];
    for (filter, want) in cases {
        let filter = filter
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(names(rt.list(&filter).await.unwrap()), want, "{filter:?}");
    }
}

#[tokio::test]
async fn duplicate_name_is_refused() {
    let rt = runtime();
    rt.create(&spec("web", None)).await.unwrap();
    let err = rt.create(&spec("web", None)).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Container { name, message } if name == "web" && message.contains("already in use")),
        "{err}"
    );
}

#[tokio::test]
async fn images_must_be_present_or_pullable() {
    let rt = runtime();
    assert!(rt.image_present("busybox:latest").await.unwrap());
    assert!(!rt.image_present("nginx").await.unwrap());

    let mut nginx = spec("web", None);
    nginx.image = "nginx".to_string();
    assert!(matches!(
        rt.create(&nginx).await,
        Err(RuntimeError::ImageNotFound { image, .. }) if image == "nginx"
    ));
    assert!(matches!(
        rt.pull("nginx", None).await,
        Err(RuntimeError::ImageNotFound { image, .. }) if image == "nginx"
    ));

    rt.add_pullable_image("nginx:latest");
    rt.pull("nginx", None).await.unwrap();
    assert!(rt.image_present("nginx").await.unwrap());
    rt.create(&nginx).await.unwrap();
}

#[tokio::test]
async fn host_ports_conflict_only_while_held() {
    let rt = runtime();
    let first = rt.create(&spec("first", Some(8080))).await.unwrap();
    let second = rt.create(&spec("second", Some(8080))).await.unwrap();
    let other = rt.create(&spec("other", Some(8081))).await.unwrap();
    rt.start(&first).await.unwrap();
    rt.start(&other).await.unwrap();

    let err = rt.start(&second).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Container { name, message } if name == &second && message.contains("8080") && message.contains("port is already allocated")),
        "{err}"
    );
    let observed = &rt.list(&labels("second")).await.unwrap()[0];
    assert_eq!(observed.state, RunState::Created);
    assert!(observed.error.as_deref().unwrap().contains("8080"));

    rt.exit(&first, 1).unwrap();
    rt.start(&second).await.unwrap();
    assert!(rt.list(&labels("second")).await.unwrap()[0].error.is_none());
}

#[tokio::test]
async fn exit_simulates_a_crash_and_start_restarts() {
    let rt = runtime();
    let id = rt.create(&spec("job", None)).await.unwrap();
    rt.start(&id).await.unwrap();
    rt.exit(&id, 3).unwrap();
    let c = &rt.containers()[0].observed;
    assert_eq!((c.state, c.exit_code), (RunState::Exited, Some(3)));
    let finished = c.finished_at.unwrap();

    rt.start("job").await.unwrap();
    let c = &rt.containers()[0].observed;
    assert_eq!((c.state, c.exit_code), (RunState::Running, None));
    assert_eq!(c.finished_at, Some(finished));
    assert!(matches!(
        rt.exit("nope", 1),
        Err(RuntimeError::ContainerNotFound(_))
    ));
}

#[tokio::test]
async fn logs_return_a_line_and_follow_ends_on_stop() {
    let rt = runtime();
    let id = rt.create(&spec("web", None)).await.unwrap();
    let all: Vec<_> = rt
        .logs(&id, &LogOptions::default())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, vec![bytes::Bytes::from("web: fake log line\n")]);
    let none: Vec<_> = rt
        .logs(
            &id,
            &LogOptions {
                tail: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(matches!(
        rt.logs("nope", &LogOptions::default()).await,
        Err(RuntimeError::ContainerNotFound(_))
    ));

    rt.start(&id).await.unwrap();
    let mut followed = rt
        .logs(
            &id,
            &LogOptions {
                follow: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(followed.next().await.unwrap().is_ok());
    let stopper = rt.clone();
    let stop = tokio::spawn(async move { stopper.stop(&id, Duration::ZERO).await });
    let end = tokio::time::timeout(Duration::from_secs(5), followed.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "followed logs end when the container stops"
    );
    stop.await.unwrap().unwrap();
}

#[tokio::test]
async fn clones_share_one_engine() {
    let rt = runtime();
    let clone = rt.clone();
    clone.create(&spec("web", None)).await.unwrap();
    assert_eq!(rt.containers().len(), 1);
    assert_eq!(rt.containers()[0].spec, spec("web", None));
}

#[tokio::test]
async fn hollow_behaviour_runs_any_image_and_exits_on_its_own() {
    let rt = FakeRuntime::new(4000, 8 << 30).with_behaviour(super::Behaviour {
        any_image: true,
        start_delay: Duration::from_millis(20),
        run_for: Some(Duration::from_millis(50)),
        exit_code: 3,
        init_run_for: None,
    });
    let mut s = spec("job", None);
    s.image = "never-pulled:1".into();
    assert!(rt.image_present(&s.image).await.unwrap());
    let id = rt.create(&s).await.unwrap();
    let started = std::time::Instant::now();
    rt.start(&id).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "the start delay"
    );
    let state = |rt: &FakeRuntime| {
        let rt = rt.clone();
        async move { rt.list(&BTreeMap::new()).await.unwrap()[0].clone() }
    };
    assert_eq!(state(&rt).await.state, RunState::Running);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let ended = state(&rt).await;
    assert_eq!((ended.state, ended.exit_code), (RunState::Exited, Some(3)));
    let ran = ended
        .finished_at
        .unwrap()
        .duration_since(ended.started_at.unwrap());
    assert_eq!(
        ran.unwrap(),
        Duration::from_millis(50),
        "ended when its run was over"
    );
}

#[tokio::test]
async fn a_container_cannot_join_a_sandbox_that_is_not_running() {
    let rt = runtime();
    let sandbox = rt.create(&spec("pod", None)).await.unwrap();
    let mut s = spec("app", None);
    s.namespaces = crate::runtime::Namespaces::Join(sandbox.clone());
    let app = rt.create(&s).await.unwrap();
    let refused = rt.start(&app).await.unwrap_err().to_string();
    assert!(
        refused.contains("cannot join network of a non running container"),
        "{refused}"
    );
    rt.start(&sandbox).await.unwrap();
    rt.start(&app).await.unwrap();
}
