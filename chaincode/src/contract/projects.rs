//! Projects: public records every channel member reads.

use svcflow_model::ids::ProjectId;
use svcflow_model::lifecycle;
use svcflow_model::page::{Page, PageReq};
use svcflow_model::project::{NewProject, Project, ProjectStatus};
use svcflow_model::Refusal;

use svcflow_model::event::Event;

use super::{decode, emit, me, to_json};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

pub async fn create<S: Stub>(stub: &S, req: NewProject) -> Result<Project> {
    req.validate()?;
    lifecycle::may_create_project(stub.creator())?;
    let key = keys::project(&req.id);
    if stub.get_state(&key).await?.is_some() {
        return Err(ContractError::conflict(format!("project {} already exists", req.id)));
    }
    let p = Project {
        id: req.id,
        name: req.name,
        description: req.description,
        owner: me(stub),
        created: stub.tx_timestamp().to_owned(),
        status: ProjectStatus::Active,
    };
    stub.put_state(&key, to_json(&p)?).await?;
    emit(stub, Event::ProjectCreated, &p.id, None);
    Ok(p)
}

pub async fn get<S: Stub>(stub: &S, id: &ProjectId) -> Result<Project> {
    match stub.get_state(&keys::project(id)).await? {
        Some(b) => decode("project", &b),
        None => Err(ContractError::not_found(format!("project {id} does not exist"))),
    }
}

pub async fn list<S: Stub>(stub: &S, req: PageReq) -> Result<Page<Project>> {
    let size = req.size()?;
    let (start, end) = keys::prefix_range(keys::PROJECT, &[]);
    let in_range = req.bookmark >= start && req.bookmark < end;
    if !req.bookmark.is_empty() && !in_range {
        return Err(Refusal::bad("bookmark is not one ListProjects returned").into());
    }
    let (kvs, bookmark) = stub.state_range_page(&start, &end, size, &req.bookmark).await?;
    let items = kvs.iter().map(|(_, v)| decode("project", v)).collect::<Result<Vec<Project>>>()?;
    Ok(Page { items, bookmark })
}
