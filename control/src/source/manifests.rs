//! The manifests source: every `*.yaml` / `*.yml` file of one or more directories (not their subdirectories, not
//! dot-files), directory by directory in the order given and in name order within one, each holding any number of
//! YAML documents (`---`), `kind: List` included. Several directories keep generated objects (the lab's TLS
//! Secrets) apart from hand-written ones; an object defined in two of them is an error like any duplicate.
//!
//! Documents are dispatched by `apiVersion` and `kind` into a [`ClusterState`]; kinds the planner does not read
//! are skipped (debug log), and so are kinds it reads under an API version that current Kubernetes no longer
//! serves (warning: `extensions/v1beta1` Ingresses, say). A document that does not parse, or an object defined
//! twice, is an error naming the file and the document's 1-based position. Changes are found by polling the
//! files' names, sizes and modification times.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::Value;

use super::{Source, SourceError};
use crate::model::{ClusterObject, ClusterState, ObjectKey};

/// Directories of manifests.
#[derive(Debug)]
pub struct ManifestsSource {
    dirs: Vec<PathBuf>,
    seen: Option<Fingerprint>,
}

/// What a change shows in: each file's path, modification time and size.
type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

impl ManifestsSource {
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self { dirs, seen: None }
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    fn fingerprint(&self) -> Result<Fingerprint, SourceError> {
        let mut files = Vec::new();
        for dir in &self.dirs {
            files.extend(manifest_files(dir)?);
        }
        files
            .into_iter()
            .map(|path| {
                let meta = fs::metadata(&path).map_err(|error| SourceError::Io {
                    path: path.clone(),
                    error,
                })?;
                Ok((path, meta.modified().ok(), meta.len()))
            })
            .collect()
    }
}

impl Source for ManifestsSource {
    fn describe(&self) -> String {
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        format!("manifests:{}", dirs.join(","))
    }

    fn load(&mut self) -> Result<ClusterState, SourceError> {
        // Taken first: a change made while reading shows in the next `changed`.
        let fingerprint = self.fingerprint()?;
        let state = load_dirs(&self.dirs)?;
        self.seen = Some(fingerprint);
        Ok(state)
    }

    fn changed(&mut self) -> Result<bool, SourceError> {
        let now = self.fingerprint()?;
        let changed = self.seen.as_ref() != Some(&now);
        self.seen = Some(now);
        Ok(changed)
    }
}

/// The manifest files of `dir`, sorted by name.
pub fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |error| SourceError::Io {
        path: dir.to_path_buf(),
        error,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if yaml && !name.starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every manifest file of `dir` into a full state.
pub fn load_dir(dir: &Path) -> Result<ClusterState, SourceError> {
    load_dirs(&[dir.to_path_buf()])
}

/// Reads every manifest file of every directory of `dirs` into one full state.
pub fn load_dirs(dirs: &[PathBuf]) -> Result<ClusterState, SourceError> {
    let mut loader = Loader::default();
    for dir in dirs {
        for file in manifest_files(dir)? {
            let text = fs::read_to_string(&file).map_err(|error| SourceError::Io {
                path: file.clone(),
                error,
            })?;
            loader.add_text(&text, &file)?;
        }
    }
    Ok(loader.finish())
}

/// Builds a state from manifest texts.
#[derive(Debug, Default)]
pub struct Loader {
    state: ClusterState,
    origins: BTreeMap<(&'static str, ObjectKey), (PathBuf, usize)>,
}

impl Loader {
    /// Adds the documents of `text`, read from `file` (for messages).
    pub fn add_text(&mut self, text: &str, file: &Path) -> Result<(), SourceError> {
        for (i, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let index = i + 1;
            let fail = |message: String| SourceError::Document {
                file: file.to_path_buf(),
                index,
                message,
            };
            let value = Value::deserialize(document).map_err(|e| fail(e.to_string()))?;
            self.add_value(value, file, index)?;
        }
        Ok(())
    }

    /// The full state read.
    pub fn finish(self) -> ClusterState {
        ClusterState {
            complete: true,
            ..self.state
        }
    }

    fn add_value(&mut self, value: Value, file: &Path, index: usize) -> Result<(), SourceError> {
        let fail = |message: String| SourceError::Document {
            file: file.to_path_buf(),
            index,
            message,
        };
        if value.is_null() {
            return Ok(());
        }
        if !value.is_mapping() {
            return Err(fail(
                "not a Kubernetes object (a mapping with apiVersion and kind)".into(),
            ));
        }
        let text = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_string);
        let (Some(api_version), Some(kind)) = (text("apiVersion"), text("kind")) else {
            return Err(fail("apiVersion and kind must both be set".into()));
        };
        let object = match (api_version.as_str(), kind.as_str()) {
            ("v1", "List") => {
                let items = match value.get("items") {
                    Some(Value::Sequence(items)) => items.clone(),
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => return Err(fail("List: items must be a sequence".into())),
                };
                for item in items {
                    self.add_value(item, file, index)?;
                }
                return Ok(());
            }
            ("v1", "Service") => ClusterObject::Service(typed(value, &kind).map_err(fail)?),
            ("v1", "Endpoints") => ClusterObject::Endpoints(typed(value, &kind).map_err(fail)?),
            ("v1", "Node") => ClusterObject::Node(typed(value, &kind).map_err(fail)?),
            ("v1", "Secret") => ClusterObject::Secret(typed(value, &kind).map_err(fail)?),
            ("discovery.k8s.io/v1", "EndpointSlice") => {
                ClusterObject::EndpointSlice(typed(value, &kind).map_err(fail)?)
            }
            ("networking.k8s.io/v1", "Ingress") => {
                ClusterObject::Ingress(typed(value, &kind).map_err(fail)?)
            }
            ("networking.k8s.io/v1", "IngressClass") => {
                ClusterObject::IngressClass(typed(value, &kind).map_err(fail)?)
            }
            (
                _,
                "Service" | "Endpoints" | "Node" | "Secret" | "EndpointSlice" | "Ingress"
                | "IngressClass",
            ) => {
                tracing::warn!(file = %file.display(), index, %api_version, %kind,
                    "skipped: this API version of {kind} is not read (current Kubernetes does not serve it)");
                return Ok(());
            }
            _ => {
                tracing::debug!(file = %file.display(), index, %api_version, %kind, "skipped: not a kind edgelb reads");
                return Ok(());
            }
        };
        self.insert(object, file, index)
    }

    fn insert(
        &mut self,
        object: ClusterObject,
        file: &Path,
        index: usize,
    ) -> Result<(), SourceError> {
        let key = object.key();
        if key.name.is_empty() {
            return Err(SourceError::Document {
                file: file.to_path_buf(),
                index,
                message: format!("{}: metadata.name is missing", object.kind()),
            });
        }
        let origin = (object.kind(), key.clone());
        if let Some((other_file, other_index)) = self.origins.get(&origin) {
            return Err(SourceError::Duplicate {
                file: file.to_path_buf(),
                index,
                object: format!("{} {key}", object.kind()),
                other_file: other_file.clone(),
                other_index: *other_index,
            });
        }
        self.origins.insert(origin, (file.to_path_buf(), index));
        self.state.insert(object);
        Ok(())
    }
}

/// The document as the k8s-openapi type of its kind; serde's message on failure.
fn typed<T: DeserializeOwned>(value: Value, kind: &str) -> Result<Box<T>, String> {
    let name = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    serde_yaml::from_value(value)
        .map(Box::new)
        .map_err(|e| format!("{kind} {name:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("edgelb-control-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, text: &str) {
            fs::write(self.0.join(name), text).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { ports: [ { port: 80 } ] }\n";
    const NODE: &str = "apiVersion: v1\nkind: Node\nmetadata: { name: node1 }\n";

    fn load_text(text: &str) -> Result<ClusterState, SourceError> {
        let mut loader = Loader::default();
        loader.add_text(text, Path::new("x.yaml"))?;
        Ok(loader.finish())
    }

    #[test]
    fn documents_are_dispatched_by_kind_and_others_skipped() {
        let text = format!(
            "{SERVICE}---\n# only a comment\n---\n{NODE}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{ name: web }}\n\
             ---\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {{ name: old }}\n"
        );
        let state = load_text(&text).unwrap();
        assert!(state.complete);
        assert_eq!(state.len(), 2);
        assert_eq!(
            state.services[&ObjectKey::new("default", "web")]
                .spec
                .as_ref()
                .unwrap()
                .ports
                .as_ref()
                .unwrap()[0]
                .port,
            80
        );
        assert!(state.nodes.contains_key(&ObjectKey::cluster("node1")));
    }

    #[test]
    fn lists_are_unpacked() {
        let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Node\n    metadata: { name: a }\n  \
                    - apiVersion: v1\n    kind: Node\n    metadata: { name: b }\n";
        let state = load_text(text).unwrap();
        let names: Vec<String> = state.nodes.keys().map(ToString::to_string).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn errors_name_the_file_the_document_and_the_reason() {
        let bad_field = format!("{NODE}---\napiVersion: v1\nkind: Service\nmetadata: {{ name: web }}\nspec: {{ ports: [ {{ port: eighty }} ] }}\n");
        let err = load_text(&bad_field).unwrap_err().to_string();
        assert!(
            err.starts_with("x.yaml: document 2: Service \"web\": "),
            "{err}"
        );
        assert!(
            err.contains("invalid type: string \"eighty\", expected i32"),
            "{err}"
        );
        let err = load_text("apiVersion: v1\nkind: Service\nmetadata: { name: [\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.yaml: document 1: "), "{err}");
        let err = load_text("- a\n- b\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "x.yaml: document 1: not a Kubernetes object (a mapping with apiVersion and kind)"
        );
        let err = load_text("kind: Service\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "x.yaml: document 1: apiVersion and kind must both be set"
        );
        let err = load_text("apiVersion: v1\nkind: Node\nmetadata: {}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "x.yaml: document 1: Node: metadata.name is missing");
    }

    #[test]
    fn an_object_defined_twice_is_an_error_naming_both_places() {
        let dir = TempDir::new("dup");
        dir.write("a.yaml", SERVICE);
        dir.write(
            "b.yml",
            &format!(
                "{NODE}---\n{}",
                SERVICE.replace("{ name: web }", "{ name: web, namespace: default }")
            ),
        );
        let err = load_dir(&dir.0).unwrap_err().to_string();
        let a = dir.0.join("a.yaml");
        let b = dir.0.join("b.yml");
        assert_eq!(
            err,
            format!(
                "{}: document 2: Service default/web is also defined in {} document 1",
                b.display(),
                a.display()
            )
        );
    }

    #[test]
    fn only_yaml_files_of_the_directory_are_read_in_name_order() {
        let dir = TempDir::new("files");
        dir.write("b.yaml", NODE);
        dir.write("a.yml", SERVICE);
        dir.write(".hidden.yaml", "not: [valid");
        dir.write("notes.txt", "not yaml");
        fs::create_dir_all(dir.0.join("sub.yaml")).unwrap();
        let files: Vec<String> = manifest_files(&dir.0)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, ["a.yml", "b.yaml"]);
        assert_eq!(load_dir(&dir.0).unwrap().len(), 2);
    }

    #[test]
    fn changes_are_seen_by_polling() {
        let dir = TempDir::new("watch");
        dir.write("a.yaml", SERVICE);
        let mut source = ManifestsSource::new(vec![dir.0.clone()]);
        assert_eq!(source.describe(), format!("manifests:{}", dir.0.display()));
        assert_eq!(source.load().unwrap().len(), 1);
        assert!(!source.changed().unwrap());
        dir.write("a.yaml", &format!("{SERVICE}---\n{NODE}"));
        assert!(source.changed().unwrap());
        assert!(!source.changed().unwrap(), "seen once");
        dir.write("c.yaml", NODE.replace("node1", "node2").as_str());
        assert!(source.changed().unwrap(), "a new file");
        fs::remove_file(dir.0.join("c.yaml")).unwrap();
        assert!(source.changed().unwrap(), "a removed file");
        assert_eq!(source.load().unwrap().len(), 2);
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let err = load_dir(Path::new("/nonexistent/edgelb"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/nonexistent/edgelb: "), "{err}");
    }
}
