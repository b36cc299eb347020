//! Object graphs: a picture of the world at one moment of a run
//! (`cowsim graph`).
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
//! - a **VM object**: its role (anonymous, shadow, copy, file, and whatever
//!   roles later designs add), its reference count, its resident pages and
//!   which of them are *hidden* (resident but reachable by no mapping: the
//!   memory a shadow chain wastes; see `WorldView::hidden_pages`).
//!
//! Edges: task → entry, entry → the object it maps (with the page offset
//! when it is not 0), object → the object it shadows (`shadow`, with the
//! offset), and, dashed, object → its copy object (`copy`: the delayed-copy
//! link of Mach, which is not a reference).
//!
//! The graph is built from `sim`'s read-only view of the world alone
//! (`sim::view`), so it cannot change the world. Nodes are added in a
//! fixed order — tasks by id, each followed by its entries by address, then
//! live objects by serial — so the DOT text is the same byte for byte on
//! every run and can be pinned by snapshot tests.
//!
//! Output is DOT (graphviz's language, written by `petgraph::dot`), or SVG
//! laid out in pure Rust by `layout-rs`, so no graphviz is needed to see a
//! chain.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use petgraph::dot::{Config as DotConfig, Dot, RankDir};
use petgraph::graph::{DiGraph, EdgeReference, NodeIndex};
use sim::ids::{ObjectId, Pindex, TaskId};
use sim::types::{Inheritance, Prot};
use sim::view::{MapEntryView, ObjectView, WorldView};

/// The object graph of one world.
pub type ObjectGraph = DiGraph<Node, Edge>;

/// A node: everything its label shows, copied out of the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Task(TaskNode),
    Entry(EntryNode),
    Object(ObjectNode),
    /// Stands in for an empty world, so that a picture is never blank.
    Empty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskNode {
    pub id: TaskId,
    pub parent: Option<TaskId>,
    /// Pages its pmap maps now (valid entries only).
    pub mapped: u64,
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

/// Builds the graph of the world `view` shows. `page_size` is the run's
/// page size in bytes, for the addresses shown on entries.
pub fn build(view: WorldView<'_>, page_size: u64) -> ObjectGraph {
    let mut graph = ObjectGraph::new();
    let mapped: BTreeMap<TaskId, u64> = view.resident_pages_by_task().into_iter().collect();
    let mut entry_edges: Vec<(NodeIndex, ObjectId, Pindex)> = Vec::new();
    for task in view.tasks() {
        let task_node = graph.add_node(Node::Task(TaskNode {
            id: task.id(),
            parent: task.parent(),
            mapped: mapped.get(&task.id()).copied().unwrap_or(0),
        }));
        for entry in task.entries() {
            let entry_node = graph.add_node(Node::Entry(EntryNode { entry, page_size }));
            graph.add_edge(task_node, entry_node, Edge::Maps);
            entry_edges.push((entry_node, entry.object, entry.offset));
        }
    }
    let hidden: BTreeMap<ObjectId, Vec<Pindex>> = view.hidden_pages_by_object().into_iter().collect();
    let mut object_nodes: BTreeMap<ObjectId, NodeIndex> = BTreeMap::new();
    for object in view.objects() {
        let node = object_node(view, object, hidden.get(&object.id()).cloned().unwrap_or_default());
        object_nodes.insert(object.id(), graph.add_node(Node::Object(node)));
    }
    for (entry_node, object, offset) in entry_edges {
        graph.add_edge(entry_node, object_nodes[&object], Edge::Backing { offset });
    }
    for object in view.objects() {
        let from = object_nodes[&object.id()];
        if let Some(shadow) = object.shadow() {
            graph.add_edge(from, object_nodes[&shadow.object], Edge::Shadow { offset: shadow.offset });
        }
        if let Some(copy) = object.copy_object() {
            graph.add_edge(from, object_nodes[&copy], Edge::Copy);
        }
    }
    if graph.node_count() == 0 {
        graph.add_node(Node::Empty);
    }
    graph
}

/// Copies out what an object's label shows.
fn object_node(view: WorldView<'_>, object: ObjectView<'_>, hidden: Vec<Pindex>) -> ObjectNode {
    ObjectNode {
        id: object.id(),
        role: object.role().name(),
        file: view.file_name(object.id()).map(str::to_string),
        size: object.size(),
        ref_count: object.ref_count(),
        pages: object.resident_pages().map(|(index, _)| index).collect(),
        hidden,
        shared: object.shared(),
    }
}

/// The graph as DOT text, headed by a comment line naming what it shows
/// (`caption`, e.g. "fork-then-write.jsonl under gnumach after op 5").
pub fn to_dot(graph: &ObjectGraph, caption: &str) -> String {
    let node_attributes = |_: &ObjectGraph, (_, node): (NodeIndex, &Node)| node_attributes(node);
    let edge_attributes = |_: &ObjectGraph, edge: EdgeReference<'_, Edge>| edge_attributes(edge.weight());
    let config = [DotConfig::NodeNoLabel, DotConfig::EdgeNoLabel, DotConfig::RankDir(RankDir::LR)];
    let dot = Dot::with_attr_getters(graph, &config, &edge_attributes, &node_attributes);
    format!("// cowsim graph: {}\n{dot:?}", caption.replace('\n', " "))
}

/// The attributes of a node: its label, shape and colours.
fn node_attributes(node: &Node) -> String {
    match node {
        Node::Task(task) => {
            let mut lines = vec![format!("task {}", task.id.0)];
            if let Some(parent) = task.parent {
                lines.push(format!("child of task {}", parent.0));
            }
            lines.push(format!("{} in its pmap", count(task.mapped, "page")));
            format!("label = {} shape=box style=filled fillcolor=lightblue", dot_label(&lines))
        }
        Node::Entry(e) => format!("label = {} shape=box", dot_label(&entry_label(e))),
        Node::Object(object) => {
            let border = if object.hidden.is_empty() { "black" } else { "red" };
            format!(
                "label = {} shape=ellipse style=filled fillcolor={} color={border}",
                dot_label(&object_label(object)),
                role_colour(object.role)
            )
        }
        Node::Empty => "label = \"(the world is empty)\" shape=plaintext".to_string(),
    }
}

/// The lines of an entry's label.
fn entry_label(e: &EntryNode) -> Vec<String> {
    let entry = &e.entry;
    let mut lines = vec![
        format!("{:#x}-{:#x}", entry.start.0 * e.page_size, entry.end.0 * e.page_size),
        format!("vpn {:#x}-{:#x}, {}", entry.start.0, entry.end.0, count(entry.pages(), "page")),
        format!(
            "prot {} (max {}), inherit {}",
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

/// The lines of an object's label.
fn object_label(object: &ObjectNode) -> Vec<String> {
    let mut title = format!("object {}: {}", object.id.serial(), object.role);
    if let Some(file) = &object.file {
        let _ = write!(title, " {file}");
    }
    if object.shared {
        title.push_str(", shared");
    }
    let mut lines = vec![title];
    let size = if object.file.is_some() { String::new() } else { format!("size {}, ", object.size) };
    lines.push(format!("{size}refs {}, {} resident", object.ref_count, object.pages.len()));
    if !object.pages.is_empty() {
        lines.push(format!("{} {}", plural(object.pages.len(), "page"), index_ranges(&object.pages)));
    }
    if !object.hidden.is_empty() {
        lines.push(format!("hidden: {} {}", plural(object.hidden.len(), "page"), index_ranges(&object.hidden)));
    }
    lines
}

/// The attributes of an edge.
fn edge_attributes(edge: &Edge) -> String {
    match edge {
        Edge::Maps => String::new(),
        Edge::Backing { offset } if offset.0 == 0 => String::new(),
        Edge::Backing { offset } => format!("label = {}", dot_label(&[format!("from page {}", offset.0)])),
        Edge::Shadow { offset } if offset.0 == 0 => "label = \"shadow\"".to_string(),
        Edge::Shadow { offset } => format!("label = {}", dot_label(&[format!("shadow +{}", offset.0)])),
        Edge::Copy => "label = \"copy\" style=dashed".to_string(),
    }
}

/// A fill colour per role, so chains read at a glance. Roles other designs
/// add later get white until someone picks a colour.
fn role_colour(role: &str) -> &'static str {
    match role {
        "anonymous" => "lightyellow",
        "shadow" => "lightgrey",
        "copy" => "mistyrose",
        "file" => "palegreen",
        _ => "white",
    }
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
    const SHOWN: usize = 6;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for index in indices {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == index.0 => *last = index.0,
            _ => ranges.push((index.0, index.0)),
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

/// The most nodes [`dot_to_svg`] is asked to lay out. The layout's cost
/// grows with about the cube of the graph (measured: 300 nodes 0.4 s, 600
/// nodes 3.8 s, 1000 tasks over two minutes), so past this a user gets DOT
/// and Graphviz instead of a command that seems to hang.
pub const MAX_SVG_NODES: usize = 400;

/// Refuses a graph too large to lay out as SVG in about a second.
pub fn check_svg_size(graph: &ObjectGraph) -> Result<(), GraphError> {
    let nodes = graph.node_count();
    if nodes > MAX_SVG_NODES { Err(GraphError::TooLargeForSvg { nodes }) } else { Ok(()) }
}

/// Why a DOT text could not be laid out as SVG.
#[derive(Debug, thiserror::Error)]
#[error("laying out the graph as SVG failed: {0}")]
pub struct LayoutError(String);

/// Lays out DOT text (as [`to_dot`] writes it) and draws it as SVG, in pure
/// Rust (`layout-rs`). The layout is deterministic.
pub fn dot_to_svg(dot: &str) -> Result<String, LayoutError> {
    use layout::backends::svg::SVGWriter;
    use layout::gv::{DotParser, GraphBuilder};
    let mut parser = DotParser::new(dot);
    let tree = parser.process().map_err(LayoutError)?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&tree);
    let mut visual = builder.get();
    let mut svg = SVGWriter::new();
    // Arguments: debug drawing off, optimisation on, layout on.
    visual.do_it(false, false, false, &mut svg);
    Ok(svg.finalize())
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
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The graph is too large for the built-in SVG layout (exit 2).
    #[error(
        "the graph has {nodes} nodes, more than the {MAX_SVG_NODES} the built-in SVG layout draws in reasonable \
         time (its cost grows with the cube of the size): write DOT instead (-o FILE.dot) and draw it with \
         Graphviz (dot -Tsvg FILE.dot), or pick an earlier op with --at"
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
        let svg = dot_to_svg(&dot).unwrap();
        assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{svg}");
    }
}
