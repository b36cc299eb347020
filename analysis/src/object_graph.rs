//! Object graphs: a picture of the world at one moment of a run
//! (`cowsim graph`), small enough for a slide.
//!
//! The graph has three kinds of node, drawn left to right:
//!
//! ```text
//!   task 2 ──► 0x100000-0x104000 ──► object 3 (shadow) ──shadow──► object 1 (anonymous)
//!              rw, needs_copy                                        ▲
//!   task 1 ──► 0x100000-0x104000 ────────────────────────────────────┘
//! ```
//!
//! - a **task**, with its parent and how many pages its pmap maps;
//! - a **map entry** of that task: its address and page range, protection,
//!   inheritance and the `needs_copy` / `shared` flags;
//! - a **VM object**: its role (anonymous, shadow, copy, file, amap, page
//!   table), its reference count, its resident pages and which of them are
//!   *hidden* (resident but reachable by no mapping: the memory a shadow
//!   chain wastes; see `WorldView::hidden_pages`). In the designs that
//!   count references per page (`uvm`'s amaps, `linux` and `plan9`'s page
//!   tables) the object also says, for each run of pages, how many slots
//!   hold them and which tasks those are: that count *is* the design.
//!
//! Edges: task → entry, entry → the object it maps (with the page offset
//! when it is not 0), object → the object it shadows (`shadow`, with the
//! offset), and, dashed, object → its copy object (`copy`: the delayed-copy
//! link of Mach, which is not a reference).
//!
//! A big world is summarised rather than drawn node by node, because a
//! picture nobody can read teaches nothing: tasks that look alike (same
//! parent, same entries, onto the same objects or onto objects of their own
//! that look the same) become one node that names them all, and a long run of objects in the middle of a chain (each
//! reached only from the one above it) becomes one "× N more objects like
//! this" node between the run's first and last object. Page lists are
//! ranges, cut after a few.
//!
//! The graph is built from `sim`'s read-only view of the world alone
//! (`sim::view`), so it cannot change the world. Nodes are added in a
//! fixed order — tasks by id, each followed by its entries by address, then
//! live objects by serial — and every map is a `BTreeMap`, so the output is
//! the same byte for byte on every run and can be pinned by snapshot tests.
//!
//! Output is DOT (graphviz's language, written by `petgraph::dot`), or SVG
//! laid out and drawn in pure Rust by [`to_svg`] (see `object_graph/draw.rs`),
//! so no graphviz is needed to see a chain. Its sizes for the examples,
//! against Graphviz's `dot` on the same DOT, are in examples/README.md
//! ("Graph sizes"): never larger in area.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::dot::{Config as DotConfig, Dot, RankDir};
use petgraph::graph::{DiGraph, EdgeReference, NodeIndex};
use sim::ObjectRole;
use sim::ids::{ObjectId, PageId, Pindex, TaskId};
use sim::types::{Inheritance, Prot};
use sim::view::{MapEntryView, ObjectView, ShadowLink, WorldView};

mod draw;

pub(crate) use draw::escape as escape_markup;
pub use draw::to_svg;

/// The object graph of one world.
pub type ObjectGraph = DiGraph<Node, Edge>;

/// A node: everything its label shows, copied out of the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Task(TaskNode),
    Entry(EntryNode),
    Object(ObjectNode),
    /// Objects in the middle of a long chain, drawn as one.
    Run(RunNode),
    /// Stands in for an empty world, so that a picture is never blank.
    Empty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskNode {
    pub id: TaskId,
    pub parent: Option<TaskId>,
    /// Pages its pmap maps now (valid entries only).
    pub mapped: u64,
    /// Other tasks that look like this one (see `group_alike_tasks`), drawn
    /// as this node; empty when it stands alone.
    pub alike: Vec<TaskId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryNode {
    pub entry: MapEntryView,
    /// Bytes per page, to show the entry's addresses.
    pub page_size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectNode {
    pub id: ObjectId,
    /// The role's short name (`"shadow"`).
    pub role: &'static str,
    /// The file's name, for a file object.
    pub file: Option<String>,
    pub size: u64,
    pub ref_count: u32,
    /// Resident pages by index, in index order.
    pub pages: Vec<Pindex>,
    /// The resident pages no mapping can reach, in index order.
    pub hidden: Vec<Pindex>,
    /// Copies of it are delayed copies (Mach `shared`).
    pub shared: bool,
    /// Who holds its pages, run by run, in page order: filled in for the
    /// designs that count references per page (amaps, page tables) and
    /// wherever a page has more than one holder; empty otherwise, since in
    /// the Mach family every page has exactly one.
    pub sharing: Vec<PageShare>,
    /// When alike tasks are drawn as one, each with an object of its own
    /// like this one, how many such objects it stands for; 0 when it stands
    /// for itself alone.
    pub one_per_task: usize,
}

/// Pages of one object that the same number of object slots hold, and
/// that the same tasks map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageShare {
    /// In index order.
    pub pages: Vec<Pindex>,
    /// The page's reference count (`PageView::holders`).
    pub holders: u32,
    /// The tasks whose map entries map an object holding the page, by id.
    pub tasks: Vec<TaskId>,
}

/// A run of objects in the middle of a chain, summarised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunNode {
    /// The objects it stands for, top of the run first.
    pub objects: Vec<ObjectId>,
    /// How many of them have each role, by role name.
    pub roles: BTreeMap<&'static str, usize>,
    /// The lowest and highest reference count among them.
    pub refs: (u32, u32),
    /// Resident pages, all objects together.
    pub pages: u64,
    /// Hidden pages, all objects together.
    pub hidden: u64,
}

/// An edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// A task has this map entry.
    Maps,
    /// A map entry maps this object from page `offset` on.
    Backing { offset: Pindex },
    /// An object shadows this one; its page 0 is this one's page `offset`.
    Shadow { offset: Pindex },
    /// An object's copy object (not a reference; drawn dashed).
    Copy,
}

/// Fewer alike tasks than this are drawn one by one: the few children of
/// a small example are worth seeing side by side, each with its own page
/// table or shadow.
const TASK_GROUP_MIN: usize = 5;

/// A run of at least this many chain objects is summarised (its first and
/// last drawn, the rest as one node), so a chain never gets wider than a
/// few objects per distinct piece of it.
const RUN_MIN: usize = 6;

/// The longest label line; a longer one (a long file name) is cut with `…`.
const MAX_LINE: usize = 60;

/// Builds the graph of the world `view` shows. `page_size` is the run's
/// page size in bytes, for the addresses shown on entries.
pub fn build(view: WorldView<'_>, page_size: u64) -> ObjectGraph {
    let mapped: BTreeMap<TaskId, u64> = view.resident_pages_by_task().into_iter().collect();
    let mut mappers: BTreeMap<ObjectId, BTreeSet<TaskId>> = BTreeMap::new();
    let mut tasks: Vec<(TaskNode, Vec<MapEntryView>)> = Vec::new();
    for task in view.tasks() {
        let mut entries: Vec<MapEntryView> = task.entries().collect();
        // The view promises address order; sorting again costs nothing and
        // keeps the picture right if that promise ever changes.
        entries.sort_by_key(|e| e.start);
        for entry in &entries {
            mappers.entry(entry.object).or_default().insert(task.id());
        }
        let node = TaskNode {
            id: task.id(),
            parent: task.parent(),
            mapped: mapped.get(&task.id()).copied().unwrap_or(0),
            alike: Vec::new(),
        };
        tasks.push((node, entries));
    }
    let hidden: BTreeMap<ObjectId, Vec<Pindex>> = view.hidden_pages_by_object().into_iter().collect();
    let shared_pages = shared_page_holders(view);
    let mut objects: Vec<(ObjectNode, Option<ShadowLink>, Option<ObjectId>)> = view
        .objects()
        .map(|object| {
            let hidden = hidden.get(&object.id()).cloned().unwrap_or_default();
            let node = object_node(view, object, hidden, &mappers, &shared_pages);
            (node, object.shadow(), object.copy_object())
        })
        .collect();
    let tasks = group_alike_tasks(tasks, &mut objects);
    let runs = chain_runs(&objects, &tasks);
    let position: BTreeMap<ObjectId, usize> = objects.iter().enumerate().map(|(i, (o, _, _))| (o.id, i)).collect();

    let mut graph = ObjectGraph::new();
    let mut entry_edges: Vec<(NodeIndex, ObjectId, Pindex)> = Vec::new();
    for (task, entries) in tasks {
        let task_node = graph.add_node(Node::Task(task));
        for entry in entries {
            let entry_node = graph.add_node(Node::Entry(EntryNode { entry, page_size }));
            graph.add_edge(task_node, entry_node, Edge::Maps);
            entry_edges.push((entry_node, entry.object, entry.offset));
        }
    }
    let mut object_nodes: BTreeMap<ObjectId, NodeIndex> = BTreeMap::new();
    let mut run_nodes: Vec<Option<NodeIndex>> = vec![None; runs.runs.len()];
    for (object, _, _) in &objects {
        match runs.member.get(&object.id) {
            Some(&run) => {
                let node = *run_nodes[run]
                    .get_or_insert_with(|| graph.add_node(Node::Run(run_node(&runs.runs[run], &objects, &position))));
                object_nodes.insert(object.id, node);
            }
            None => {
                object_nodes.insert(object.id, graph.add_node(Node::Object(object.clone())));
            }
        }
    }
    for (entry_node, object, offset) in entry_edges {
        if let Some(&to) = object_nodes.get(&object) {
            graph.add_edge(entry_node, to, Edge::Backing { offset });
        }
    }
    for (run, members) in runs.runs.iter().enumerate() {
        // The run's own shadow edge leads to the object below its last
        // member; its offset is the sum of the links it stands for.
        let mut offset = 0u64;
        let mut below = None;
        for id in members {
            if let Some((_, Some(link), _)) = position.get(id).map(|&i| &objects[i]) {
                offset = offset.saturating_add(link.offset.0);
                below = Some(link.object);
            }
        }
        if let (Some(from), Some(below)) = (run_nodes[run], below.and_then(|b| object_nodes.get(&b))) {
            graph.add_edge(from, *below, Edge::Shadow { offset: Pindex(offset) });
        }
    }
    for (object, shadow, copy) in &objects {
        if runs.member.contains_key(&object.id) {
            continue;
        }
        let from = object_nodes[&object.id];
        if let Some(to) = shadow.and_then(|link| object_nodes.get(&link.object).map(|to| (link, *to))) {
            graph.add_edge(from, to.1, Edge::Shadow { offset: to.0.offset });
        }
        if let Some(&to) = copy.and_then(|copy| object_nodes.get(&copy)) {
            graph.add_edge(from, to, Edge::Copy);
        }
    }
    if graph.node_count() == 0 {
        graph.add_node(Node::Empty);
    }
    graph
}

/// Merges tasks that look alike into one node (the first by id stands for
/// them all), when there are at least [`TASK_GROUP_MIN`]. Alike means the
/// same parent, as many pages mapped, the same entries, each onto the same
/// object — or onto an object of its own that looks the same (same role,
/// counts and object below): the children of a fork loop that each wrote a
/// page have a shadow each, and those shadows are drawn once, as the
/// leader's, saying how many there are. The others are taken out of
/// `objects`.
fn group_alike_tasks(
    tasks: Vec<(TaskNode, Vec<MapEntryView>)>,
    objects: &mut Vec<(ObjectNode, Option<ShadowLink>, Option<ObjectId>)>,
) -> Vec<(TaskNode, Vec<MapEntryView>)> {
    let mut entry_refs: BTreeMap<ObjectId, usize> = BTreeMap::new();
    for entry in tasks.iter().flat_map(|(_, entries)| entries) {
        *entry_refs.entry(entry.object).or_default() += 1;
    }
    let mut linked: BTreeSet<ObjectId> = BTreeSet::new();
    for (_, shadow, copy) in objects.iter() {
        linked.extend(shadow.map(|link| link.object));
        linked.extend(*copy);
    }
    for (object, _, copy) in objects.iter() {
        if copy.is_some() {
            linked.insert(object.id);
        }
    }
    // An object of the task's own: one entry maps it and nothing links to it.
    let own: BTreeMap<ObjectId, String> = objects
        .iter()
        .filter(|(o, _, _)| entry_refs.get(&o.id) == Some(&1) && !linked.contains(&o.id))
        .map(|(o, shadow, _)| {
            let shape = format!(
                "{} {} {} {} {} {:?} {:?}",
                o.role,
                o.ref_count,
                o.size,
                o.pages.len(),
                o.hidden.len(),
                shadow.map(|l| (l.object.serial(), l.offset.0)),
                o.file
            );
            (o.id, shape)
        })
        .collect();
    let signature = |(task, entries): &(TaskNode, Vec<MapEntryView>)| {
        let mut text = format!("{:?}|{}", task.parent, task.mapped);
        for e in entries {
            let object = own.get(&e.object).cloned().unwrap_or_else(|| format!("object {}", e.object.serial()));
            let _ = write!(
                text,
                "|{:?}-{:?} {:?}/{:?} {:?} {} {} {} {object}",
                e.start, e.end, e.protection, e.max_protection, e.inheritance, e.needs_copy, e.shared, e.offset.0
            );
        }
        text
    };
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, task) in tasks.iter().enumerate() {
        groups.entry(signature(task)).or_default().push(i);
    }
    let mut leader_of: Vec<Option<usize>> = vec![None; tasks.len()];
    for members in groups.values().filter(|m| m.len() >= TASK_GROUP_MIN) {
        for &m in members {
            leader_of[m] = Some(members[0]);
        }
    }
    let mut alike: BTreeMap<usize, Vec<TaskId>> = BTreeMap::new();
    let mut dropped: BTreeSet<ObjectId> = BTreeSet::new();
    let mut stands_for: BTreeMap<ObjectId, usize> = BTreeMap::new();
    for (i, (task, entries)) in tasks.iter().enumerate() {
        let Some(leader) = leader_of[i] else { continue };
        let owned = entries.iter().filter(|e| own.contains_key(&e.object)).map(|e| e.object);
        if leader == i {
            for object in owned {
                stands_for.insert(object, groups[&signature(&tasks[i])].len());
            }
        } else {
            alike.entry(leader).or_default().push(task.id);
            dropped.extend(owned);
        }
    }
    objects.retain(|(o, _, _)| !dropped.contains(&o.id));
    for (object, _, _) in objects.iter_mut() {
        object.one_per_task = stands_for.get(&object.id).copied().unwrap_or(0);
    }
    tasks
        .into_iter()
        .enumerate()
        .filter(|(i, _)| leader_of[*i].is_none_or(|l| l == *i))
        .map(|(i, (mut task, entries))| {
            task.alike = alike.remove(&i).unwrap_or_default();
            (task, entries)
        })
        .collect()
}

/// The objects that hold each page more than one object slot holds, by
/// page: only those pages need a look beyond their own object.
fn shared_page_holders(view: WorldView<'_>) -> BTreeMap<PageId, BTreeSet<ObjectId>> {
    let mut holders: BTreeMap<PageId, BTreeSet<ObjectId>> = BTreeMap::new();
    for object in view.objects() {
        for (_, page) in object.resident_pages() {
            if view.page(page).is_some_and(|p| p.holders > 1) {
                holders.entry(page).or_default().insert(object.id());
            }
        }
    }
    holders
}

/// Copies out what an object's label shows.
fn object_node(
    view: WorldView<'_>,
    object: ObjectView<'_>,
    hidden: Vec<Pindex>,
    mappers: &BTreeMap<ObjectId, BTreeSet<TaskId>>,
    shared_pages: &BTreeMap<PageId, BTreeSet<ObjectId>>,
) -> ObjectNode {
    let per_page_design = matches!(object.role(), ObjectRole::Amap | ObjectRole::PageTable);
    let mut runs: BTreeMap<(u32, Vec<TaskId>), Vec<Pindex>> = BTreeMap::new();
    let mut any_shared = false;
    let mut pages = Vec::new();
    for (index, page) in object.resident_pages() {
        pages.push(index);
        let holders = view.page(page).map_or(1, |p| p.holders);
        any_shared |= holders > 1;
        let mut tasks: BTreeSet<TaskId> = mappers.get(&object.id()).cloned().unwrap_or_default();
        for other in shared_pages.get(&page).into_iter().flatten() {
            tasks.extend(mappers.get(other).into_iter().flatten());
        }
        runs.entry((holders, tasks.into_iter().collect())).or_default().push(index);
    }
    let mut sharing: Vec<PageShare> = if per_page_design || any_shared {
        runs.into_iter().map(|((holders, tasks), pages)| PageShare { pages, holders, tasks }).collect()
    } else {
        Vec::new()
    };
    sharing.sort_by_key(|share| share.pages.first().copied());
    ObjectNode {
        id: object.id(),
        role: object.role().name(),
        file: view.file_name(object.id()).map(str::to_string),
        size: object.size(),
        ref_count: object.ref_count(),
        pages,
        hidden,
        shared: object.shared(),
        sharing,
        one_per_task: 0,
    }
}

/// The chain runs to summarise: each a list of object ids, top first, and
/// which run each summarised object belongs to.
struct Runs {
    runs: Vec<Vec<ObjectId>>,
    member: BTreeMap<ObjectId, usize>,
}

/// Finds the long runs of objects in the middle of chains. An object is in
/// the middle when only the object above it reaches it: no map entry, no
/// second shadow, no copy link. Each run of at least [`RUN_MIN`] such
/// objects keeps its first and last on the picture, and the ones between
/// become one node.
fn chain_runs(
    objects: &[(ObjectNode, Option<ShadowLink>, Option<ObjectId>)],
    tasks: &[(TaskNode, Vec<MapEntryView>)],
) -> Runs {
    let index: BTreeMap<ObjectId, usize> = objects.iter().enumerate().map(|(i, (o, _, _))| (o.id, i)).collect();
    let mut reached = vec![0usize; objects.len()];
    let mut linked = vec![false; objects.len()];
    for entry in tasks.iter().flat_map(|(_, entries)| entries) {
        if let Some(&i) = index.get(&entry.object) {
            reached[i] += 2; // an entry alone puts an object on the picture
        }
    }
    for (i, (_, shadow, copy)) in objects.iter().enumerate() {
        if let Some(&below) = shadow.and_then(|link| index.get(&link.object)) {
            reached[below] += 1;
        }
        if let Some(&to) = copy.and_then(|copy| index.get(&copy)) {
            linked[i] = true;
            linked[to] = true;
        }
    }
    let middle = |i: usize| reached[i] == 1 && !linked[i];
    let below = |i: usize| objects[i].1.and_then(|link| index.get(&link.object).copied());
    let mut runs = Runs { runs: Vec::new(), member: BTreeMap::new() };
    let mut seen = vec![false; objects.len()];
    for start in (0..objects.len()).filter(|&i| !middle(i)) {
        let mut run = Vec::new();
        let mut next = below(start);
        while let Some(i) = next.filter(|&i| middle(i) && !seen[i]) {
            seen[i] = true;
            run.push(i);
            next = below(i);
        }
        if run.len() >= RUN_MIN {
            let summarised: Vec<ObjectId> = run[1..run.len() - 1].iter().map(|&i| objects[i].0.id).collect();
            for id in &summarised {
                runs.member.insert(*id, runs.runs.len());
            }
            runs.runs.push(summarised);
        }
    }
    runs
}

/// What a run's node shows.
fn run_node(
    members: &[ObjectId],
    objects: &[(ObjectNode, Option<ShadowLink>, Option<ObjectId>)],
    position: &BTreeMap<ObjectId, usize>,
) -> RunNode {
    let mut node =
        RunNode { objects: members.to_vec(), roles: BTreeMap::new(), refs: (u32::MAX, 0), pages: 0, hidden: 0 };
    for (object, _, _) in members.iter().filter_map(|id| position.get(id).map(|&i| &objects[i])) {
        *node.roles.entry(object.role).or_default() += 1;
        node.refs = (node.refs.0.min(object.ref_count), node.refs.1.max(object.ref_count));
        node.pages += object.pages.len() as u64;
        node.hidden += object.hidden.len() as u64;
    }
    node
}

/// The graph as DOT text, headed by a comment line naming what it shows
/// (`caption`, e.g. "fork-then-write.jsonl under gnumach after op 5"),
/// which is also the drawing's title.
pub fn to_dot(graph: &ObjectGraph, caption: &str) -> String {
    let node_attributes = |_: &ObjectGraph, (_, node): (NodeIndex, &Node)| node_attributes(node);
    let edge_attributes = |_: &ObjectGraph, edge: EdgeReference<'_, Edge>| edge_attributes(edge.weight());
    let config = [DotConfig::NodeNoLabel, DotConfig::EdgeNoLabel, DotConfig::RankDir(RankDir::LR)];
    let dot = format!("{:?}", Dot::with_attr_getters(graph, &config, &edge_attributes, &node_attributes));
    let caption = caption.replace('\n', " ");
    let title = format!(
        "    label = {}\n    labelloc = \"t\"\n    labeljust = \"l\"\n    fontsize = 18\n",
        dot_label(std::slice::from_ref(&caption))
    );
    let body = match dot.split_once('\n') {
        Some((first, rest)) => format!("{first}\n{title}{rest}"),
        None => dot,
    };
    format!("// cowsim graph: {caption}\n{body}")
}

/// The attributes of a node: its label, shape and colours.
fn node_attributes(node: &Node) -> String {
    match node {
        Node::Task(task) => {
            format!("label = {} shape=box style=filled fillcolor=lightblue", dot_label(&task_label(task)))
        }
        Node::Entry(e) => format!("label = {} shape=box", dot_label(&entry_label(e))),
        Node::Object(object) => {
            let mut lines = object_label(object);
            lines.extend(object_hidden(object));
            format!(
                "label = {} {}",
                dot_label(&lines),
                object_style(role_colour(object.role), !object.hidden.is_empty())
            )
        }
        Node::Run(run) => {
            let mut lines = run_label(run);
            lines.extend(run_hidden(run));
            let style = object_style(role_colour(run.roles.keys().next().copied().unwrap_or("")), run.hidden > 0);
            format!("label = {} {} peripheries=2", dot_label(&lines), style)
        }
        Node::Empty => "label = \"(the world is empty)\" shape=plaintext".to_string(),
    }
}

/// An object's shape: a rounded box, and with hidden pages a thick red
/// dashed border that reads from the back of a lecture hall.
fn object_style(fill: &str, hidden: bool) -> String {
    if hidden {
        format!("shape=box style=\"rounded,filled,dashed\" fillcolor={fill} color=red penwidth=3")
    } else {
        format!("shape=box style=\"rounded,filled\" fillcolor={fill} color=black")
    }
}

/// The lines of a task's label.
pub fn task_label(task: &TaskNode) -> Vec<String> {
    let mut lines = Vec::new();
    if task.alike.is_empty() {
        lines.push(format!("task {}", task.id.0));
    } else {
        let mut ids: Vec<u64> = task.alike.iter().map(|t| u64::from(t.0)).collect();
        ids.push(u64::from(task.id.0));
        ids.sort_unstable();
        lines.push(clip(format!("tasks {}", number_ranges(&ids))));
        lines.push(format!("({} alike)", ids.len()));
    }
    if let Some(parent) = task.parent {
        let each = if task.alike.is_empty() { "child" } else { "children" };
        lines.push(format!("{each} of task {}", parent.0));
    }
    let pmap = if task.alike.is_empty() { "its pmap" } else { "each pmap" };
    lines.push(format!("{} in {pmap}", count(task.mapped, "page")));
    lines
}

/// The lines of an entry's label.
pub fn entry_label(e: &EntryNode) -> Vec<String> {
    let entry = &e.entry;
    let mut lines = vec![
        format!(
            "{:#x}-{:#x}, {}",
            entry.start.0.saturating_mul(e.page_size),
            entry.end.0.saturating_mul(e.page_size),
            count(entry.pages(), "page")
        ),
        format!(
            "{} (max {}), inherit {}",
            prot_text(entry.protection),
            prot_text(entry.max_protection),
            inherit_text(entry.inheritance)
        ),
    ];
    let flags: Vec<&str> = [(entry.needs_copy, "needs_copy"), (entry.shared, "shared")]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
    if !flags.is_empty() {
        lines.push(flags.join(", "));
    }
    lines
}

/// The most page runs an object lists with their holders; the rest are
/// counted in one line.
const SHARING_SHOWN: usize = 4;

/// The lines of an object's label, its hidden pages aside (see
/// [`object_hidden`]).
pub fn object_label(object: &ObjectNode) -> Vec<String> {
    let mut title = format!("object {}: {}", object.id.serial(), object.role);
    if let Some(file) = &object.file {
        let _ = write!(title, " {file}");
    }
    if object.shared {
        title.push_str(", shared");
    }
    let mut lines = vec![clip(title)];
    if object.one_per_task > 1 {
        lines.push(format!("one of {} like it, one per task", object.one_per_task));
    }
    let size = if object.file.is_some() { String::new() } else { format!("size {}, ", object.size) };
    lines.push(format!("{size}refs {}, {} resident", object.ref_count, object.pages.len()));
    if object.sharing.is_empty() {
        if !object.pages.is_empty() {
            lines.push(format!("{} {}", plural(object.pages.len(), "page"), index_ranges(&object.pages)));
        }
    } else {
        for share in object.sharing.iter().take(SHARING_SHOWN) {
            lines.push(clip(format!(
                "{} {}: {} ({})",
                plural(share.pages.len(), "page"),
                index_ranges(&share.pages),
                count(u64::from(share.holders), "holder"),
                task_list(&share.tasks)
            )));
        }
        let rest: usize = object.sharing.iter().skip(SHARING_SHOWN).map(|s| s.pages.len()).sum();
        if rest > 0 {
            lines.push(format!("… {rest} more {}", plural(rest, "page")));
        }
    }
    lines
}

/// The line naming an object's hidden pages, if it has any.
pub fn object_hidden(object: &ObjectNode) -> Option<String> {
    (!object.hidden.is_empty())
        .then(|| format!("hidden: {} {}", plural(object.hidden.len(), "page"), index_ranges(&object.hidden)))
}

/// `task 3`, `tasks 1, 2`, or `no task` for pages no mapping reaches.
fn task_list(tasks: &[TaskId]) -> String {
    match tasks {
        [] => "no task".to_string(),
        [one] => format!("task {}", one.0),
        many => {
            // Two or three tasks read better listed than as a range.
            let ids: Vec<u64> = many.iter().map(|t| u64::from(t.0)).collect();
            if ids.len() <= 3 {
                format!("tasks {}", ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))
            } else {
                format!("tasks {}", number_ranges(&ids))
            }
        }
    }
}

/// The lines of a run's label, its hidden pages aside.
pub fn run_label(run: &RunNode) -> Vec<String> {
    let first = run.objects.first().map_or(0, |o| o.serial());
    let last = run.objects.last().map_or(0, |o| o.serial());
    let roles: Vec<String> = run.roles.iter().map(|(role, n)| format!("{n} {role}")).collect();
    let refs = if run.refs.0 == run.refs.1 { run.refs.0.to_string() } else { format!("{}-{}", run.refs.0, run.refs.1) };
    vec![
        format!("× {} more objects like this", run.objects.len()),
        format!("object {first} … object {last}"),
        clip(format!("{}, refs {refs}", roles.join(", "))),
        format!("{} resident in all", count(run.pages, "page")),
    ]
}

/// The line counting a run's hidden pages, if it has any.
pub fn run_hidden(run: &RunNode) -> Option<String> {
    (run.hidden > 0).then(|| format!("hidden: {} in all", count(run.hidden, "page")))
}

/// The attributes of an edge.
fn edge_attributes(edge: &Edge) -> String {
    match edge_text(edge) {
        _ if matches!(edge, Edge::Copy) => "label = \"copy\" style=dashed".to_string(),
        Some(text) => format!("label = {}", dot_label(&[text])),
        None => String::new(),
    }
}

/// An edge's label, if it has one.
pub fn edge_text(edge: &Edge) -> Option<String> {
    match edge {
        Edge::Maps => None,
        Edge::Backing { offset } if offset.0 == 0 => None,
        Edge::Backing { offset } => Some(format!("from page {}", offset.0)),
        Edge::Shadow { offset } if offset.0 == 0 => Some("shadow".to_string()),
        Edge::Shadow { offset } => Some(format!("shadow +{}", offset.0)),
        Edge::Copy => Some("copy".to_string()),
    }
}

/// A fill colour per role, so chains read at a glance. Roles other designs
/// add later get white until someone picks a colour.
pub fn role_colour(role: &str) -> &'static str {
    match role {
        "anonymous" => "lightyellow",
        "shadow" => "lightgrey",
        "copy" => "mistyrose",
        "file" => "palegreen",
        "amap" | "page_table" => "lavender",
        _ => "white",
    }
}

/// Cuts a line longer than [`MAX_LINE`] characters, so that no label (a
/// long file name) can stretch its box across the slide.
fn clip(line: String) -> String {
    if line.chars().count() <= MAX_LINE {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_LINE - 1).collect();
    cut.push('…');
    cut
}

/// A quoted DOT label of several lines: quotes and backslashes escaped,
/// lines joined with DOT's `\n`.
pub fn dot_label(lines: &[String]) -> String {
    let mut out = String::from("\"");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("\\n");
        }
        for c in line.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' | '\r' => out.push(' '),
                _ => out.push(c),
            }
        }
    }
    out.push('"');
    out
}

/// Page indices as compact ranges: `0-3, 7, 9-10`. Long lists are cut
/// after a few ranges (`…, 42 more`), so a big object keeps a small label.
pub fn index_ranges(indices: &[Pindex]) -> String {
    number_ranges(&indices.iter().map(|i| i.0).collect::<Vec<_>>())
}

/// Sorted numbers as compact ranges, cut as [`index_ranges`] says.
fn number_ranges(numbers: &[u64]) -> String {
    const SHOWN: usize = 6;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for &n in numbers {
        match ranges.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(n) => *last = n,
            _ => ranges.push((n, n)),
        }
    }
    let mut parts: Vec<String> = ranges
        .iter()
        .take(SHOWN)
        .map(|&(first, last)| if first == last { first.to_string() } else { format!("{first}-{last}") })
        .collect();
    if ranges.len() > SHOWN {
        let rest: u64 = ranges[SHOWN..].iter().map(|(first, last)| last - first + 1).sum();
        parts.push(format!("… {rest} more"));
    }
    parts.join(", ")
}

/// `page` for one, `pages` for any other number.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 { noun.to_string() } else { format!("{noun}s") }
}

/// `1 page`, `3 pages`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A protection as `rw`, or `none`.
pub fn prot_text(prot: Prot) -> String {
    let text = prot.to_string();
    if text.is_empty() { "none".to_string() } else { text }
}

fn inherit_text(inheritance: Inheritance) -> &'static str {
    inheritance.name()
}

/// The most nodes [`to_svg`] draws. Alike tasks and long chain runs are
/// summarised first, so only a world of many *different* tasks and objects
/// comes near this; its picture would be a wall of boxes no slide can
/// hold, and its layout (crossing counts between neighbouring columns grow
/// with the square of their edges) would take seconds. Past this a user
/// gets DOT and Graphviz instead.
pub const MAX_SVG_NODES: usize = 1000;

/// Refuses a graph too large to draw as SVG in about a second.
pub fn check_svg_size(graph: &ObjectGraph) -> Result<(), GraphError> {
    let nodes = graph.node_count();
    if nodes > MAX_SVG_NODES { Err(GraphError::TooLargeForSvg { nodes }) } else { Ok(()) }
}

/// What `cowsim graph` could not do.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The replay failed: bad input (exit 2) or an unmet `expect` (exit 1).
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    /// `--at` names an op the trace does not have (bad usage: exit 2).
    #[error("{trace}: --at {at} is past the end of the trace, which has {ops} ops (ops are numbered from 1)")]
    PastEnd { trace: String, at: u64, ops: u64 },
    /// `--at 0`: ops are numbered from 1.
    #[error("--at 0: ops are numbered from 1 (op 1 is the trace's first operation)")]
    AtZero,
    /// The graph is too large for the built-in SVG layout (exit 2).
    #[error(
        "the graph has {nodes} nodes even summarised, more than the {MAX_SVG_NODES} the built-in SVG drawing \
         handles: write DOT instead (-o FILE.dot) and draw it with Graphviz (dot -Tsvg FILE.dot), or pick an \
         earlier op with --at"
    )]
    TooLargeForSvg { nodes: usize },
}

/// Replays `trace` under `policy` up to and including op `at` (the whole
/// trace when `None`) and returns the graph of the world then, with a
/// caption naming the trace, the policy and the op.
pub fn graph_at(
    trace: &std::path::Path,
    policy: sim::PolicyKind,
    config: &sim::Config,
    at: Option<u64>,
) -> Result<(ObjectGraph, String), GraphError> {
    let mut stepper = crate::stepper::Stepper::open(trace, policy, config)?;
    match at {
        Some(0) => return Err(GraphError::AtZero),
        Some(at) => {
            if !stepper.run_to(at)? {
                let (trace, ops) = (stepper.trace_name().to_string(), stepper.applied());
                return Err(GraphError::PastEnd { trace, at, ops });
            }
        }
        None => {
            stepper.run_to(u64::MAX)?;
        }
    }
    let caption = format!(
        "{} under {} after op {}",
        crate::stepper::trace_label(stepper.trace_name()),
        policy.name(),
        stepper.applied()
    );
    let graph = build(stepper.sim().view(), stepper.sim().config().page_size);
    Ok((graph, caption))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Are labels escaped so no file name can end the DOT string early?
    #[test]
    fn labels_are_escaped() {
        let label = dot_label(&["a \"quoted\" \\ name".to_string(), "second".to_string()]);
        assert_eq!(label, r#""a \"quoted\" \\ name\nsecond""#);
    }

    /// Do page lists read as ranges, and stay short?
    #[test]
    fn page_ranges_are_compact() {
        let pages: Vec<Pindex> = [0, 1, 2, 3, 7, 9, 10].into_iter().map(Pindex).collect();
        assert_eq!(index_ranges(&pages), "0-3, 7, 9-10");
        let many: Vec<Pindex> = (0..40).step_by(2).map(Pindex).collect();
        assert_eq!(index_ranges(&many), "0, 2, 4, 6, 8, 10, … 14 more");
    }

    /// Is the graph of an empty world still a drawable graph?
    #[test]
    fn empty_world_draws() {
        let sim = sim::Sim::new(sim::PolicyKind::GnuMach, sim::Config::default());
        let graph = build(sim.view(), 4096);
        let dot = to_dot(&graph, "empty");
        assert!(dot.contains("the world is empty"), "{dot}");
        let svg = to_svg(&graph, "empty");
        assert!(svg.starts_with("<svg") && svg.contains("the world is empty"), "{svg}");
    }
}
