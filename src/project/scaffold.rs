//! `dango init`: writes the tutorial's project layout with a working, commented example.

use std::path::{Path, PathBuf};

use super::layout::ProjectLayout;
use super::schema::SCHEMA_FILE;

/// Why a project could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The directory already holds a Dango project.
    #[error("{0} already exists: this is a Dango project; pass --force to overwrite its files")]
    AlreadyAProject(PathBuf),
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The example `.dango/sources.yml`: a public API that needs no credentials.
/// Its first line points yaml-language-server (VS Code, JetBrains, Neovim) at the schema.
pub const EXAMPLE_SOURCES_YML: &str = r#"# yaml-language-server: $schema=sources.schema.json
# Dango sources: each entry is synced by `dango sync` into data/warehouse.duckdb,
# in schema raw_<name> (or `dataset_name`), one table per resource.
# Reference: the config/ folder of the Dango repository, one documented example per feature.
version: "1.0"
sources:
  - name: jsonplaceholder
    type: rest_api
    enabled: true
    rest_api:
      base_url: "https://jsonplaceholder.typicode.com"
      # Values may use ${VAR}: replaced from the environment, .env or .dlt/secrets.toml.
      # headers:
      #   Authorization: "Bearer ${MY_API_TOKEN}"
      resources:
        - name: users
          endpoint: /users
          method: GET
        - name: posts
          endpoint: /posts
          params:
            _limit: 100
          write_disposition: merge   # merge (default, upsert on primary_key `id`) | append | replace
        # Paginated endpoints:
        # - name: orders
        #   endpoint: /orders
        #   pagination:
        #     type: page_number     # or: offset, cursor, next_url, header_link, single_page
        #     param: page
        #     start: 1
"#;

/// The `warehouse:` block `dango init --warehouse ducklake` writes under `version:`.
pub const DUCKLAKE_BLOCK: &str = r#"# Where the sources load: a DuckLake (a catalog plus Parquet files), which many `dango sync`
# processes load at once (`dango sync --shard K/N` splits the sources between N workers).
# The local catalog below takes one process at a time; for many processes or machines, keep
# the catalog in PostgreSQL and the files in a shared folder or a bucket:
#   catalog: "postgres:dbname=lake host=db.internal user=dango password=${LAKE_PG_PASSWORD}"
#   data_path: "s3://company-lake/raw/"   # keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in .env
warehouse:
  type: ducklake
  catalog: data/lake.ducklake
  data_path: data/lake/
"#;

const SECRETS_TOML: &str = "# Secrets for dlt-style lookup: [sources.<source name>] api_key = \"...\"\n\
# Values here are used for ${VAR} references that the environment and .env do not set.\n";

const DOT_ENV: &str =
    "# KEY=value lines, used for ${KEY} in .dango/sources.yml. Never commit this file.\n";

const GITIGNORE: &str = "# Credentials and the warehouse stay out of version control.\n\
.env\n.dlt/secrets.toml\ndata/\n__pycache__/\n";

const INIT_PY: &str = "\"\"\"Custom dlt sources for this Dango project.\"\"\"\n";

/// Creates a project at `root` (loading into a DuckLake if `lake`); refuses to touch an existing
/// one unless `force`.
pub fn scaffold(root: &Path, force: bool, lake: bool) -> Result<ProjectLayout, ScaffoldError> {
    let layout = ProjectLayout::new(root);
    if layout.sources_file().exists() && !force {
        return Err(ScaffoldError::AlreadyAProject(layout.sources_file()));
    }
    for dir in [
        layout.dango_dir(),
        layout.dlt_dir(),
        layout.data_dir(),
        layout.custom_sources_dir(),
    ] {
        std::fs::create_dir_all(&dir).map_err(|source| ScaffoldError::Io { path: dir, source })?;
    }
    let sources = match lake {
        true => EXAMPLE_SOURCES_YML.replacen(
            "version: \"1.0\"\n",
            &format!("version: \"1.0\"\n{DUCKLAKE_BLOCK}"),
            1,
        ),
        false => EXAMPLE_SOURCES_YML.to_string(),
    };
    // Editors find it through the modeline the example starts with; `dango schema` prints it.
    let schema = serde_json::to_string_pretty(&super::schema::sources_schema()).unwrap_or_default();
    let files = [
        (layout.sources_file(), sources.as_str(), true),
        (layout.dango_dir().join(SCHEMA_FILE), schema.as_str(), true),
        (layout.dlt_dir().join("secrets.toml"), SECRETS_TOML, false),
        (layout.root().join(".env"), DOT_ENV, false),
        (layout.root().join(".gitignore"), GITIGNORE, true),
        (
            layout.custom_sources_dir().join("__init__.py"),
            INIT_PY,
            true,
        ),
    ];
    for (path, text, overwrite) in files {
        // Secrets a user already entered are never replaced, even with --force.
        if path.exists() && !overwrite {
            continue;
        }
        std::fs::write(&path, text).map_err(|source| ScaffoldError::Io { path, source })?;
    }
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_project_points_editors_at_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let layout = scaffold(dir.path(), false, false).unwrap();
        let yml = std::fs::read_to_string(layout.sources_file()).unwrap();
        assert!(yml.starts_with(&format!("# yaml-language-server: $schema={SCHEMA_FILE}\n")));
        let written = std::fs::read_to_string(layout.dango_dir().join(SCHEMA_FILE)).unwrap();
        let written: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(written, crate::project::schema::sources_schema());
    }

    #[test]
    fn example_config_is_valid() {
        let parsed =
            crate::project::loader::parse_sources(Path::new("sources.yml"), EXAMPLE_SOURCES_YML)
                .unwrap();
        assert_eq!(parsed.sources.len(), 1);
        assert_eq!(parsed.sources[0].rest_api().unwrap().resources.len(), 2);
    }

    #[test]
    fn the_lake_example_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let layout = scaffold(dir.path(), false, true).unwrap();
        let parsed = crate::project::loader::load_sources_file(&layout.sources_file()).unwrap();
        assert_eq!(
            parsed.warehouse.kind,
            crate::project::warehouse::WarehouseKind::Ducklake
        );
        assert_eq!(parsed.sources.len(), 1);
    }

    #[test]
    fn refuses_to_overwrite_without_force_and_keeps_secrets_with_it() {
        let dir = tempfile::tempdir().unwrap();
        scaffold(dir.path(), false, false).unwrap();
        std::fs::write(dir.path().join(".env"), "TOKEN=mine\n").unwrap();
        assert!(matches!(
            scaffold(dir.path(), false, false),
            Err(ScaffoldError::AlreadyAProject(_))
        ));
        scaffold(dir.path(), true, false).unwrap();
        let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
        assert_eq!(env, "TOKEN=mine\n");
    }
}
