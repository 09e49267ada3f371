//! The `warehouse:` block of `sources.yml`: where the sources load. Left out, it is the DuckDB file
//! `data/warehouse.duckdb`; `type: ducklake` loads into a DuckLake instead (a SQL catalog and
//! Parquet files) that many Dango processes load at once. Resolved with the project's
//! credentials into a [`Location`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::credentials::Credentials;
use super::errors::{ConfigError, ConfigErrors, FieldSeg, render_path};
use super::interpolate::interpolate;
use super::layout::ProjectLayout;
use crate::warehouse::location::{CatalogKind, ObjectStorage, catalog_kind, is_remote};
use crate::warehouse::{Lake, Location};

/// The `warehouse:` block.
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehouseConfig {
    /// `duckdb` (the default: one file) or `ducklake`. Example: `type: ducklake`
    #[serde(rename = "type", default)]
    pub kind: WarehouseKind,
    /// `duckdb`: the database file, relative to the project. Default: `data/warehouse.duckdb`.
    #[serde(default)]
    pub path: Option<String>,
    /// `ducklake`: the metadata catalog: `postgres:<libpq connection string>`,
    /// `mysql:<connection string>`, or a DuckDB file (`data/lake.ducklake`, one process at a
    /// time). `${VAR}` is substituted. Default: `data/lake.ducklake`.
    /// Example: `catalog: "postgres:dbname=lake host=db user=dango password=${LAKE_PG_PASSWORD}"`
    #[serde(default)]
    pub catalog: Option<String>,
    /// `ducklake`: where the Parquet files go: a folder (relative to the project) or an
    /// `s3://`, `r2://` or `gs://` URL (keys from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
    /// or `GCS_ACCESS_KEY_ID`/`GCS_SECRET`, in the environment, `.env` or secrets.toml).
    /// Default: `data/lake/`. Example: `data_path: "s3://company-lake/raw/"`
    #[serde(default)]
    pub data_path: Option<String>,
}

/// The kinds of warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseKind {
    /// A DuckDB database file.
    #[default]
    Duckdb,
    /// A DuckLake.
    Ducklake,
}

/// Credentials are looked up as no source's (environment, `.env`, top-level secrets.toml keys).
const NO_SOURCE: &str = "";

/// Parses the `warehouse:` value; problems as (field path under `warehouse`, message, hint).
pub fn parse(value: &Value) -> Result<WarehouseConfig, (Vec<FieldSeg>, String, Option<String>)> {
    let config: WarehouseConfig = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(FieldSeg::Key(key.clone())),
                _ => None,
            })
            .collect();
        let hint = Some("see config/ducklake.yml for a commented example".to_string());
        (path, e.inner().to_string(), hint)
    })?;
    // Each kind's fields, so a field of the other kind is named rather than ignored.
    let (kind, misplaced, hint) = match config.kind {
        WarehouseKind::Duckdb => (
            "duckdb",
            [
                ("catalog", config.catalog.is_some()),
                ("data_path", config.data_path.is_some()),
            ]
            .into_iter()
            .find_map(|(field, set)| set.then_some(field)),
            "set `type: ducklake` to load into a DuckLake",
        ),
        WarehouseKind::Ducklake => (
            "ducklake",
            config.path.is_some().then_some("path"),
            "a lake has `catalog` and `data_path`",
        ),
    };
    if let Some(field) = misplaced {
        return Err((
            vec![FieldSeg::Key(field.into())],
            format!("`{field}` does not apply to a `type: {kind}` warehouse"),
            Some(hint.into()),
        ));
    }
    Ok(config)
}

/// The warehouse of the project at `layout`: its `warehouse:` block resolved with `creds`.
/// Reads only that block, so a broken source elsewhere in the file does not stop `dango query`.
pub fn location(layout: &ProjectLayout, creds: &Credentials) -> Result<Location, ConfigErrors> {
    let file = layout.sources_file();
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::Null);
    let config = match doc.get("warehouse") {
        None | Some(Value::Null) => WarehouseConfig::default(),
        Some(value) => {
            parse(value).map_err(|(path, message, hint)| one_error(&file, &path, message, hint))?
        }
    };
    resolve(layout, &file, &config, creds)
}

impl Location {
    /// The warehouse of the project at `project_dir`, as `dango` opens it: the `warehouse:`
    /// block of its `.dango/sources.yml` (a DuckDB file or a DuckLake, `${VAR}`s filled from
    /// `creds`), else `data/warehouse.duckdb`.
    pub fn of_project(
        project_dir: impl AsRef<Path>,
        creds: &Credentials,
    ) -> Result<Location, ConfigErrors> {
        location(&ProjectLayout::new(project_dir.as_ref()), creds)
    }
}

/// `config` with `${VAR}` substituted and paths made absolute.
pub fn resolve(
    layout: &ProjectLayout,
    file: &Path,
    config: &WarehouseConfig,
    creds: &Credentials,
) -> Result<Location, ConfigErrors> {
    let absolute = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            layout.root().join(p)
        }
    };
    let substitute = |field: &str, text: &str| -> Result<String, ConfigErrors> {
        let mut value = Value::String(text.to_string());
        let unset = interpolate(&mut value, NO_SOURCE, creds);
        match unset.first() {
            Some(u) => Err(one_error(
                file,
                &[FieldSeg::Key(field.into())],
                format!("`${{{}}}` is not set", u.name),
                Some(format!(
                    "set {} in the environment, in .env, or in .dlt/secrets.toml",
                    u.name
                )),
            )),
            None => Ok(value.as_str().unwrap_or_default().to_string()),
        }
    };
    match config.kind {
        WarehouseKind::Duckdb => Ok(Location::File(match &config.path {
            Some(p) => absolute(&substitute("path", p)?),
            None => layout.warehouse_file(),
        })),
        WarehouseKind::Ducklake => {
            let catalog = substitute(
                "catalog",
                config.catalog.as_deref().unwrap_or("data/lake.ducklake"),
            )?;
            let catalog = match catalog_kind(&catalog) {
                CatalogKind::DuckDb => absolute(&catalog).to_string_lossy().into_owned(),
                // Measured with DuckDB 1.5.5: while one DuckLake transaction is open on a SQLite
                // catalog, another's COMMIT fails with "database is locked", even in one process;
                // Dango loads sources side by side, each in a transaction of its own.
                CatalogKind::Sqlite => {
                    return Err(one_error(
                        file,
                        &[FieldSeg::Key("catalog".into())],
                        "a SQLite catalog takes one transaction at a time, and Dango loads \
                         sources side by side, each in its own"
                            .into(),
                        Some(
                            "use a DuckDB-file catalog (`catalog: data/lake.ducklake`) on one \
                             machine, or PostgreSQL (`catalog: \"postgres:dbname=...\"`) for many \
                             processes and machines"
                                .into(),
                        ),
                    ));
                }
                _ => catalog,
            };
            let data_path = substitute(
                "data_path",
                config.data_path.as_deref().unwrap_or("data/lake/"),
            )?;
            let data_path = if is_remote(&data_path) {
                data_path
            } else {
                // DuckLake joins file names onto the data path as text.
                let mut p = absolute(&data_path).to_string_lossy().into_owned();
                if !p.ends_with('/') {
                    p.push('/');
                }
                p
            };
            let storage = object_storage(&data_path, creds);
            Ok(Location::Lake(Box::new(Lake {
                catalog,
                data_path,
                extension_dir: std::env::var_os("DANGO_EXTENSION_DIR").map(PathBuf::from),
                storage,
                // Spills stay in the project, beside the lake, whatever the working directory.
                temp_dir: Some(layout.data_dir().join(".tmp")),
                redactor: creds.redactor(),
            })))
        }
    }
}

/// The object-storage secret for `data_path`, from the usual variables, if it is a bucket URL
/// and they are set (looked up through `creds`, so they are redacted everywhere).
fn object_storage(data_path: &str, creds: &Credentials) -> Option<ObjectStorage> {
    let scheme = data_path.split_once("://")?.0;
    let get = |name: &str| creds.lookup(NO_SOURCE, name);
    let (kind, key, secret) = match scheme {
        "s3" | "s3a" | "r2" => (
            "s3",
            get("AWS_ACCESS_KEY_ID")?,
            get("AWS_SECRET_ACCESS_KEY")?,
        ),
        "gs" | "gcs" => ("gcs", get("GCS_ACCESS_KEY_ID")?, get("GCS_SECRET")?),
        _ => return None,
    };
    let mut options = vec![("KEY_ID".to_string(), key), ("SECRET".to_string(), secret)];
    if kind == "s3" {
        if let Some(token) = get("AWS_SESSION_TOKEN") {
            options.push(("SESSION_TOKEN".into(), token));
        }
        if let Some(region) = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")) {
            options.push(("REGION".into(), region));
        }
        // An S3-compatible store elsewhere than AWS (MinIO, R2, ...): path-style URLs.
        if let Some(endpoint) = get("AWS_ENDPOINT_URL") {
            let plain = endpoint.strip_prefix("http://");
            let host = plain
                .or_else(|| endpoint.strip_prefix("https://"))
                .unwrap_or(&endpoint);
            options.push(("ENDPOINT".into(), host.trim_end_matches('/').to_string()));
            options.push(("URL_STYLE".into(), "path".into()));
            if plain.is_some() {
                options.push(("USE_SSL".into(), "false".into()));
            }
        }
    }
    Some(ObjectStorage {
        kind: kind.to_string(),
        options,
    })
}

fn one_error(
    file: &Path,
    path: &[FieldSeg],
    message: String,
    hint: Option<String>,
) -> ConfigErrors {
    let field = render_path(&[&[FieldSeg::Key("warehouse".into())], path].concat());
    ConfigErrors(vec![ConfigError {
        file: file.to_path_buf(),
        line: None,
        source: None,
        field,
        message,
        hint,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(yaml: &str, env: &[(&str, &str)]) -> Result<Location, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let layout = ProjectLayout::new(dir.path());
        let creds = Credentials::from_parts(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dir.path(),
        )
        .unwrap();
        let value: Value = serde_yaml_ng::from_str(yaml).unwrap();
        let config = parse(&value).map_err(|(p, m, h)| one_error(Path::new("s.yml"), &p, m, h))?;
        resolve(&layout, Path::new("s.yml"), &config, &creds)
    }

    #[test]
    fn a_lake_resolves_with_its_secrets_hidden() {
        let loc = resolved(
            "{type: ducklake, catalog: 'postgres:dbname=lake password=${PG_PW}', data_path: lake}",
            &[("PG_PW", "hunter22")],
        )
        .unwrap();
        let Location::Lake(lake) = &loc else {
            panic!("{loc:?}")
        };
        assert_eq!(lake.catalog, "postgres:dbname=lake password=hunter22");
        assert!(lake.data_path.ends_with("/lake/"), "{}", lake.data_path);
        assert!(!loc.to_string().contains("hunter22"), "{loc}");
    }

    #[test]
    fn defaults_and_mistakes() {
        let file = resolved("{path: elsewhere/w.duckdb}", &[]).unwrap();
        assert!(
            matches!(&file, Location::File(p) if p.ends_with("elsewhere/w.duckdb")),
            "{file:?}"
        );
        let loc = resolved("{type: ducklake}", &[]).unwrap();
        let Location::Lake(lake) = &loc else {
            panic!("{loc:?}")
        };
        assert!(
            lake.catalog.ends_with("data/lake.ducklake"),
            "{}",
            lake.catalog
        );
        let unset = resolved(
            "{type: ducklake, catalog: 'postgres:password=${NOPE}'}",
            &[],
        );
        let text = unset.unwrap_err().to_string();
        assert!(
            text.contains("warehouse.catalog") && text.contains("NOPE"),
            "{text}"
        );
        let wrong = resolved("{type: duckdb, catalog: x}", &[])
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("does not apply"), "{wrong}");
        let typo = resolved("{type: ducklake, data_pth: x}", &[])
            .unwrap_err()
            .to_string();
        assert!(typo.contains("data_pth"), "{typo}");
        let sqlite = resolved("{type: ducklake, catalog: 'sqlite:l.db'}", &[]);
        let sqlite = sqlite.unwrap_err().to_string();
        assert!(
            sqlite.contains("one transaction at a time") && sqlite.contains("PostgreSQL"),
            "{sqlite}"
        );
    }

    #[test]
    fn bucket_keys_come_from_the_environment() {
        let loc = resolved(
            "{type: ducklake, data_path: 's3://b/raw/'}",
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAX"),
                ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ],
        )
        .unwrap();
        let Location::Lake(lake) = &loc else {
            panic!("{loc:?}")
        };
        let storage = lake.storage.as_ref().unwrap();
        assert!(
            storage
                .options
                .contains(&("ENDPOINT".into(), "127.0.0.1:9000".into()))
        );
        assert!(
            storage
                .options
                .contains(&("USE_SSL".into(), "false".into()))
        );
        assert_eq!(lake.redact("key wJalrXUtnFEMI"), "key ***");
    }
}
