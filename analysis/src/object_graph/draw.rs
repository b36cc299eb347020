//! Lays an object graph out and draws it as SVG, sized for a slide.
//!
//! A general graph layout (Graphviz, `layout-rs`) knows nothing of what it
//! draws; this one knows the shape of a VM world and uses it:
//!
//! - a task and its map entries are one **card**: the task on top, then one
//!   row per entry in address order, each row the start of the arrow to the
//!   object it maps. (Drawn apart, a layout is free to shuffle the entries,
//!   and the student loses the address order.)
//! - objects stand in **columns** by how deep they sit in their chain: the
//!   objects entries map first, each shadow one column to the right of the
//!   deepest object above it. A shadow chain reads left to right.
//! - an arrow that skips columns passes through each skipped column at a
//!   height of its own (a "dummy" point, as in Sugiyama's method), and the
//!   order within columns is chosen by a few barycenter sweeps, keeping the
//!   one with the fewest crossings.
//!
//! Text is set in a monospace font, so a label's width is its length times
//! one advance: every box fits its text, and the SVG's size is the
//! drawing's bounding box plus a small margin, computed from the layout
//! rather than guessed. Everything is in `Vec`s and sorted with stable
//! tie-breaks, so the same graph gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use super::{
    Edge, Node, ObjectGraph, edge_text, entry_label, object_hidden, object_label, role_colour, run_hidden, run_label,
    task_label,
};

/// Text size in px; line height and the monospace advance follow from it.
const FONT: f64 = 13.0;
const LINE: f64 = 15.0;
/// DejaVu Sans Mono and most monospace fonts advance 0.6 em a character.
const ADVANCE: f64 = 0.6;
const SMALL_FONT: f64 = 11.0;
const TITLE_FONT: f64 = 16.0;
/// Inside a box, around its text.
const PAD_X: f64 = 6.0;
const PAD_Y: f64 = 3.0;
/// Between boxes in a column, and between arrows passing through one.
const ROW_GAP: f64 = 12.0;
const DUMMY_GAP: f64 = 6.0;
/// The narrowest gap between columns; a gap with a label is wider.
const COL_GAP: f64 = 36.0;
/// Around the whole drawing.
const MARGIN: f64 = 6.0;
/// Barycenter sweeps tried for the order within columns.
const SWEEPS: usize = 4;

fn text_width(text: &str, font: f64) -> f64 {
    text.chars().count() as f64 * font * ADVANCE
}

fn lines_width(lines: &[String]) -> f64 {
    lines.iter().map(|l| text_width(l, FONT)).fold(0.0, f64::max)
}

fn lines_height(lines: usize) -> f64 {
    lines as f64 * LINE + 2.0 * PAD_Y
}

/// What a block draws.
enum Look {
    /// A task with its entries: the task's lines, then each entry's.
    Card { task: Vec<String>, entries: Vec<Vec<String>> },
    /// An object, or a run of them (`stacked`): fill colour, lines, and the
    /// hidden-pages line drawn in a red band.
    Object { fill: &'static str, lines: Vec<String>, hidden: Option<String>, stacked: bool },
    /// Plain text.
    Note(Vec<String>),
}

/// A box on the drawing.
struct Block {
    look: Look,
    col: usize,
    w: f64,
    h: f64,
    x: f64,
    y: f64,
    /// Where each entry's arrow leaves, measured down from the top.
    ports: Vec<f64>,
}

impl Block {
    fn new(look: Look) -> Block {
        let (w, h, ports) = match &look {
            Look::Card { task, entries } => {
                let mut w = lines_width(task);
                let mut h = lines_height(task.len());
                let mut ports = Vec::new();
                for lines in entries {
                    w = w.max(lines_width(lines));
                    let row = lines_height(lines.len());
                    ports.push(h + row / 2.0);
                    h += row;
                }
                (w + 2.0 * PAD_X, h, ports)
            }
            Look::Object { lines, hidden, stacked, .. } => {
                let band = hidden.as_ref().map_or(0.0, |_| lines_height(1));
                let w = lines_width(lines).max(hidden.as_deref().map_or(0.0, |h| text_width(h, FONT)));
                let extra = if *stacked { 4.0 } else { 0.0 };
                (w + 2.0 * PAD_X + extra, lines_height(lines.len()) + band + extra, Vec::new())
            }
            Look::Note(lines) => (lines_width(lines) + 2.0 * PAD_X, lines_height(lines.len()), Vec::new()),
        };
        Block { look, col: 0, w, h, x: 0.0, y: 0.0, ports }
    }

    /// Where an arrow leaves this block: its entry's row, or the middle.
    fn port_y(&self, port: Option<usize>) -> f64 {
        self.y + port.and_then(|p| self.ports.get(p).copied()).unwrap_or(self.h / 2.0)
    }
}

/// One end of a step between neighbouring columns.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Block { block: usize, port: Option<usize> },
    Dummy(usize),
}

/// Something in a column: a block, or an arrow passing through.
#[derive(Clone, Copy, PartialEq)]
enum Item {
    Block(usize),
    Dummy(usize),
}

/// An arrow that takes part in the layout (entry → object, shadow).
struct Link {
    from: usize,
    port: Option<usize>,
    dummies: Vec<usize>,
    to: usize,
    label: Option<String>,
}

struct Layout {
    blocks: Vec<Block>,
    links: Vec<Link>,
    /// Arrows drawn after the layout, dashed (copy links).
    copies: Vec<(usize, usize)>,
    /// Each dummy's column and height.
    dummies: Vec<(usize, f64)>,
    columns: Vec<Vec<Item>>,
}

/// Lays `graph` out and draws it, with `caption` as the title.
pub fn to_svg(graph: &ObjectGraph, caption: &str) -> String {
    let mut layout = blocks_and_links(graph);
    layout.assign_columns();
    layout.add_dummies();
    layout.order();
    layout.place_y();
    let cols = layout.place_x();
    layout.render(caption, &cols)
}

/// Turns the graph's nodes into blocks (a task's entries join its card)
/// and its edges into links.
fn blocks_and_links(graph: &ObjectGraph) -> Layout {
    let mut blocks: Vec<Block> = Vec::new();
    // Where each node's arrows start or end: its block and entry row.
    let mut at: BTreeMap<NodeIndex, (usize, Option<usize>)> = BTreeMap::new();
    for node in graph.node_indices() {
        let look = match &graph[node] {
            Node::Task(task) => {
                let mut entries: Vec<NodeIndex> = graph
                    .edges(node)
                    .filter(|e| matches!(e.weight(), Edge::Maps))
                    .map(|e| e.target())
                    .filter(|t| matches!(graph[*t], Node::Entry(_)))
                    .collect();
                entries.sort_by_key(|e| match &graph[*e] {
                    Node::Entry(entry) => (entry.entry.start, e.index()),
                    _ => (sim::ids::Vpn(0), e.index()),
                });
                let block = blocks.len();
                let mut rows = Vec::new();
                for (row, entry) in entries.iter().enumerate() {
                    if let Node::Entry(e) = &graph[*entry] {
                        rows.push(entry_label(e));
                        at.insert(*entry, (block, Some(row)));
                    }
                }
                at.insert(node, (block, None));
                Look::Card { task: task_label(task), entries: rows }
            }
            Node::Entry(_) => continue,
            Node::Object(object) => Look::Object {
                fill: role_colour(object.role),
                lines: object_label(object),
                hidden: object_hidden(object),
                stacked: false,
            },
            Node::Run(run) => Look::Object {
                fill: role_colour(run.roles.keys().next().copied().unwrap_or("")),
                lines: run_label(run),
                hidden: run_hidden(run),
                stacked: true,
            },
            Node::Empty => Look::Note(vec!["(the world is empty)".to_string()]),
        };
        at.insert(node, (blocks.len(), None));
        blocks.push(Block::new(look));
    }
    let mut links = Vec::new();
    let mut copies = Vec::new();
    for edge in graph.edge_references() {
        let (Some(&(from, port)), Some(&(to, _))) = (at.get(&edge.source()), at.get(&edge.target())) else {
            continue;
        };
        match edge.weight() {
            Edge::Maps => {}
            Edge::Copy => copies.push((from, to)),
            weight => links.push(Link { from, port, dummies: Vec::new(), to, label: edge_text(weight) }),
        }
    }
    Layout { blocks, links, copies, dummies: Vec::new(), columns: Vec::new() }
}

impl Layout {
    /// Cards in column 0; every other block one column right of the
    /// deepest block that links to it (longest path, in topological order,
    /// so a chain of any length is walked once).
    fn assign_columns(&mut self) {
        let n = self.blocks.len();
        let mut incoming = vec![0usize; n];
        let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
        for link in &self.links {
            if link.from != link.to {
                incoming[link.to] += 1;
                outgoing[link.from].push(link.to);
            }
        }
        for block in &mut self.blocks {
            block.col = usize::from(matches!(block.look, Look::Object { .. }));
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| incoming[i] == 0).collect();
        ready.reverse();
        while let Some(i) = ready.pop() {
            let col = self.blocks[i].col;
            for &to in &outgoing[i] {
                self.blocks[to].col = self.blocks[to].col.max(col + 1);
                incoming[to] -= 1;
                if incoming[to] == 0 {
                    ready.push(to);
                }
            }
        }
        // Blocks on a cycle (a broken world) keep the column they had.
        //
        // A card moves right to sit just before the nearest object it
        // maps: a child that maps the bottom of a long chain then shares
        // rows with the chain's upper objects instead of adding a row of
        // its own, which is what makes the picture as compact as dot's.
        for i in 0..n {
            if !matches!(self.blocks[i].look, Look::Card { .. }) {
                continue;
            }
            let nearest = self.links.iter().filter(|l| l.from == i).map(|l| self.blocks[l.to].col).min();
            if let Some(col) = nearest {
                self.blocks[i].col = col.saturating_sub(1);
            }
        }
    }

    /// Gives every link a dummy point in each column it skips, and fills
    /// the columns, blocks in the order they were made.
    fn add_dummies(&mut self) {
        let last = self.blocks.iter().map(|b| b.col).max().unwrap_or(0);
        self.columns = vec![Vec::new(); last + 1];
        for (i, block) in self.blocks.iter().enumerate() {
            self.columns[block.col].push(Item::Block(i));
        }
        for link in &mut self.links {
            let (from, to) = (self.blocks[link.from].col, self.blocks[link.to].col);
            for col in from + 1..to {
                link.dummies.push(self.dummies.len());
                self.columns[col].push(Item::Dummy(self.dummies.len()));
                self.dummies.push((col, 0.0));
            }
        }
    }

    /// The steps between neighbouring columns: (from, to) for each.
    fn steps(&self) -> Vec<(End, End)> {
        let mut steps = Vec::new();
        for link in &self.links {
            if self.blocks[link.to].col <= self.blocks[link.from].col {
                continue;
            }
            let mut ends = vec![End::Block { block: link.from, port: link.port }];
            ends.extend(link.dummies.iter().map(|&d| End::Dummy(d)));
            ends.push(End::Block { block: link.to, port: None });
            steps.extend(ends.windows(2).map(|w| (w[0], w[1])));
        }
        steps
    }

    fn end_y(&self, end: End) -> f64 {
        match end {
            End::Block { block, port } => self.blocks[block].port_y(port),
            End::Dummy(d) => self.dummies[d].1,
        }
    }

    fn item_of(end: End) -> Item {
        match end {
            End::Block { block, .. } => Item::Block(block),
            End::Dummy(d) => Item::Dummy(d),
        }
    }

    fn item_height(&self, item: Item) -> f64 {
        match item {
            Item::Block(b) => self.blocks[b].h,
            Item::Dummy(_) => 0.0,
        }
    }

    fn set_top(&mut self, item: Item, top: f64) {
        match item {
            Item::Block(b) => self.blocks[b].y = top,
            Item::Dummy(d) => self.dummies[d].1 = top,
        }
    }

    fn gap(a: Item, b: Item) -> f64 {
        if matches!((a, b), (Item::Dummy(_), Item::Dummy(_))) { DUMMY_GAP } else { ROW_GAP }
    }

    /// Stacks a column from the top in its current order.
    fn stack(&mut self, col: usize) {
        let mut y = 0.0;
        let items = self.columns[col].clone();
        for (k, &item) in items.iter().enumerate() {
            if k > 0 {
                y += Self::gap(items[k - 1], item);
            }
            self.set_top(item, y);
            y += self.item_height(item);
        }
    }

    /// Reorders column `col` by the mean height of each item's neighbours
    /// in column `col - 1` (`from_left`) or `col + 1`; items with none keep
    /// their place. The sort is stable, so ties keep the current order.
    fn sweep(&mut self, col: usize, from_left: bool, steps: &[(End, End)]) {
        let mut sums: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
        let items = self.columns[col].clone();
        let position = |item: Item| items.iter().position(|&i| i == item);
        for &(a, b) in steps {
            let (mine, other) = if from_left { (b, a) } else { (a, b) };
            if let Some(k) = position(Self::item_of(mine)) {
                let entry = sums.entry(k).or_insert((0.0, 0.0));
                entry.0 += self.end_y(other) - self.end_y(mine) + self.item_top(Self::item_of(mine));
                entry.1 += 1.0;
            }
        }
        let mut keyed: Vec<(f64, usize, Item)> = items
            .iter()
            .enumerate()
            .map(|(k, &item)| {
                let own = self.item_top(item);
                let key = sums.get(&k).map_or(own, |&(sum, n)| sum / n);
                (key, k, item)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.columns[col] = keyed.into_iter().map(|(_, _, item)| item).collect();
        self.stack(col);
    }

    fn item_top(&self, item: Item) -> f64 {
        match item {
            Item::Block(b) => self.blocks[b].y,
            Item::Dummy(d) => self.dummies[d].1,
        }
    }

    /// How many pairs of steps cross, at the current heights.
    fn crossings(&self, steps: &[(End, End)]) -> usize {
        let mut by_col: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
        for &(a, b) in steps {
            let col = match a {
                End::Block { block, .. } => self.blocks[block].col,
                End::Dummy(d) => self.dummies[d].0,
            };
            by_col.entry(col).or_default().push((self.end_y(a), self.end_y(b)));
        }
        let mut crossings = 0;
        for segments in by_col.values() {
            for (i, a) in segments.iter().enumerate() {
                for b in &segments[i + 1..] {
                    if (a.0 - b.0) * (a.1 - b.1) < 0.0 {
                        crossings += 1;
                    }
                }
            }
        }
        crossings
    }

    /// Chooses the order within columns: a first pass left to right, then
    /// sweeps both ways, keeping the order with the fewest crossings (the
    /// first found, so the result does not depend on anything but the
    /// graph).
    fn order(&mut self) {
        let steps = self.steps();
        let cols = self.columns.len();
        for col in 0..cols {
            self.stack(col);
        }
        for col in 1..cols {
            self.sweep(col, true, &steps);
        }
        let mut best = (self.crossings(&steps), self.columns.clone());
        for _ in 0..SWEEPS {
            if best.0 == 0 {
                break;
            }
            for col in (0..cols.saturating_sub(1)).rev() {
                self.sweep(col, false, &steps);
            }
            for col in 1..cols {
                self.sweep(col, true, &steps);
            }
            let crossings = self.crossings(&steps);
            if crossings < best.0 {
                best = (crossings, self.columns.clone());
            }
        }
        self.columns = best.1;
    }

    /// Final heights: column 0 stacked; each later column's items as close
    /// as they can get to the mean height of what links into them, in
    /// order, never overlapping. Then everything moves so the top is 0.
    fn place_y(&mut self) {
        let steps = self.steps();
        self.stack(0);
        for col in 1..self.columns.len() {
            let items = self.columns[col].clone();
            let mut bottom: Option<(Item, f64)> = None;
            for item in items {
                let wanted: Vec<f64> = steps
                    .iter()
                    .filter(|(_, b)| Self::item_of(*b) == item)
                    .map(|&(a, b)| self.end_y(a) - (self.end_y(b) - self.item_top(item)))
                    .collect();
                let floor = bottom.map(|(above, y)| y + Self::gap(above, item));
                let top = if wanted.is_empty() {
                    floor.unwrap_or(0.0)
                } else {
                    let mean = wanted.iter().sum::<f64>() / wanted.len() as f64;
                    floor.map_or(mean, |f| mean.max(f))
                };
                self.set_top(item, top);
                bottom = Some((item, top + self.item_height(item)));
            }
        }
        let top = self.blocks.iter().map(|b| b.y).chain(self.dummies.iter().map(|d| d.1)).fold(f64::INFINITY, f64::min);
        if top.is_finite() {
            self.blocks.iter_mut().for_each(|b| b.y -= top);
            self.dummies.iter_mut().for_each(|d| d.1 -= top);
        }
    }

    /// Column lefts and widths; a gap is wide enough for the labels of the
    /// arrows that leave the column to its left.
    fn place_x(&mut self) -> Vec<(f64, f64)> {
        let count = self.columns.len();
        let mut widths = vec![0.0f64; count];
        for block in &self.blocks {
            widths[block.col] = widths[block.col].max(block.w);
        }
        let mut gaps = vec![COL_GAP; count];
        for link in &self.links {
            if let Some(label) = &link.label {
                let col = self.blocks[link.from].col;
                gaps[col] = gaps[col].max(text_width(label, SMALL_FONT) + 16.0);
            }
        }
        if !self.copies.is_empty() {
            // A copy link between blocks of one column loops out to the right.
            for &(from, to) in &self.copies {
                if self.blocks[from].col == self.blocks[to].col {
                    let col = self.blocks[from].col;
                    gaps[col] = gaps[col].max(COL_GAP + 24.0);
                }
            }
        }
        let mut cols = Vec::with_capacity(count);
        let mut x = 0.0;
        for col in 0..count {
            cols.push((x, widths[col]));
            x += widths[col] + gaps[col];
        }
        for block in &mut self.blocks {
            block.x = cols[block.col].0;
        }
        cols
    }

    /// The SVG text.
    fn render(&self, caption: &str, cols: &[(f64, f64)]) -> String {
        let title_h = TITLE_FONT * 1.4;
        let (ox, oy) = (MARGIN, MARGIN + title_h);
        let mut body = String::new();
        let mut bounds = Bounds::default();
        bounds.add(MARGIN, MARGIN);
        bounds.add(MARGIN + text_width(caption, TITLE_FONT), MARGIN + title_h);
        let _ = writeln!(
            body,
            r#"<text class="title" x="{}" y="{}">{}</text>"#,
            num(MARGIN),
            num(MARGIN + TITLE_FONT),
            escape(caption)
        );
        for link in &self.links {
            self.draw_link(link, cols, (ox, oy), &mut body, &mut bounds);
        }
        for &(from, to) in &self.copies {
            self.draw_copy(from, to, cols, (ox, oy), &mut body, &mut bounds);
        }
        for block in &self.blocks {
            draw_block(block, (ox, oy), &mut body, &mut bounds);
        }
        let (w, h) = (bounds.max_x + MARGIN, bounds.max_y + MARGIN);
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT}">"#,
            w = num(w),
            h = num(h)
        );
        let _ = writeln!(svg, "<title>{}</title>", escape(caption));
        svg.push_str(concat!(
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" ",
            "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#333\"/>",
            "</marker></defs>\n",
            "<style>.title{font-size:16px;font-weight:bold}.small{font-size:11px;font-style:italic}",
            ".head{font-weight:bold}.band{font-weight:bold;fill:white}</style>\n",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        ));
        svg.push_str(&body);
        svg.push_str("</svg>\n");
        svg
    }

    fn draw_link(&self, link: &Link, cols: &[(f64, f64)], (ox, oy): (f64, f64), out: &mut String, b: &mut Bounds) {
        let from = &self.blocks[link.from];
        let to = &self.blocks[link.to];
        if to.col <= from.col {
            return;
        }
        let mut points = vec![(ox + from.x + from.w, oy + from.port_y(link.port))];
        for &d in &link.dummies {
            let (col, y) = self.dummies[d];
            points.push((ox + cols[col].0, oy + y));
            points.push((ox + cols[col].0 + cols[col].1, oy + y));
        }
        points.push((ox + to.x, oy + to.port_y(None)));
        let mut d = format!("M {} {}", num(points[0].0), num(points[0].1));
        b.add(points[0].0, points[0].1);
        for pair in points.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            if (y0 - y1).abs() < 0.01 {
                let _ = write!(d, " L {} {}", num(x1), num(y1));
            } else {
                let mid = (x0 + x1) / 2.0;
                let _ = write!(d, " C {} {} {} {} {} {}", num(mid), num(y0), num(mid), num(y1), num(x1), num(y1));
            }
            b.add(x1, y1);
        }
        let _ =
            writeln!(out, r##"<path d="{d}" fill="none" stroke="#333" stroke-width="1.3" marker-end="url(#arrow)"/>"##);
        if let Some(label) = &link.label {
            let ((x0, y0), (x1, y1)) = (points[0], points[1]);
            let (x, y) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0 - 4.0);
            small_label(label, x, y, out, b);
        }
    }

    fn draw_copy(
        &self,
        from: usize,
        to: usize,
        cols: &[(f64, f64)],
        (ox, oy): (f64, f64),
        out: &mut String,
        b: &mut Bounds,
    ) {
        let (f, t) = (&self.blocks[from], &self.blocks[to]);
        let (fy, ty) = (oy + f.port_y(None), oy + t.port_y(None));
        // Between columns the curve bows downwards, so that it does not lie
        // on the shadow arrow that often joins the same two objects.
        const BOW: f64 = 18.0;
        let (start, end, c1, c2) = if t.col > f.col {
            let (x0, x1) = (ox + f.x + f.w, ox + t.x);
            let mid = (x0 + x1) / 2.0;
            ((x0, fy), (x1, ty), (mid, fy + BOW), (mid, ty + BOW))
        } else if t.col < f.col {
            let (x0, x1) = (ox + f.x, ox + t.x + t.w);
            let mid = (x0 + x1) / 2.0;
            ((x0, fy), (x1, ty), (mid, fy + BOW), (mid, ty + BOW))
        } else {
            // Same column: out of the right side and back in, looping
            // through the gap to the right.
            let right = ox + cols[f.col].0 + cols[f.col].1;
            let reach = right + 40.0;
            ((ox + f.x + f.w, fy), (ox + t.x + t.w, ty), (reach, fy), (reach, ty))
        };
        let _ = writeln!(
            out,
            r##"<path d="M {} {} C {} {} {} {} {} {}" fill="none" stroke="#333" stroke-width="1.3" stroke-dasharray="6 4" marker-end="url(#arrow)"/>"##,
            num(start.0),
            num(start.1),
            num(c1.0),
            num(c1.1),
            num(c2.0),
            num(c2.1),
            num(end.0),
            num(end.1)
        );
        for (x, y) in [start, end] {
            b.add(x, y);
        }
        // The curve's midpoint: a cubic at t = 1/2 is (s + 3 c1 + 3 c2 + e) / 8.
        let mid = |s: f64, c1: f64, c2: f64, e: f64| (s + 3.0 * c1 + 3.0 * c2 + e) / 8.0;
        let (mx, my) = (mid(start.0, c1.0, c2.0, end.0), mid(start.1, c1.1, c2.1, end.1));
        b.add(mx, my);
        // Below the curve: a shadow label between the same objects sits above.
        small_label("copy", mx, my + SMALL_FONT + 2.0, out, b);
    }
}

/// Draws a block at offset `(ox, oy)`.
fn draw_block(block: &Block, (ox, oy): (f64, f64), out: &mut String, b: &mut Bounds) {
    let (x, y) = (ox + block.x, oy + block.y);
    b.add(x, y);
    b.add(x + block.w, y + block.h);
    match &block.look {
        Look::Card { task, entries } => {
            let head = lines_height(task.len());
            rect(out, x, y, block.w, block.h, 0.0, "white", "#333", 1.2, None);
            rect(out, x, y, block.w, head, 0.0, "lightblue", "#333", 1.2, None);
            text_lines(out, x, y, task, true);
            let mut row_y = y + head;
            for lines in entries {
                text_lines(out, x, row_y, lines, false);
                row_y += lines_height(lines.len());
                if row_y < y + block.h - 0.5 {
                    let _ = writeln!(
                        out,
                        r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#999"/>"##,
                        num(x),
                        num(x + block.w),
                        y = num(row_y)
                    );
                }
            }
        }
        Look::Object { fill, lines, hidden, stacked } => {
            let (mut w, mut h) = (block.w, block.h);
            if *stacked {
                // A second box peeking out behind: "more of the same".
                w -= 4.0;
                h -= 4.0;
                rect(out, x + 4.0, y + 4.0, w, h, 8.0, fill, "#333", 1.2, None);
            }
            let stroke = if hidden.is_some() { ("#d62728", 3.0, Some("7 4")) } else { ("#333", 1.2, None) };
            rect(out, x, y, w, h, 8.0, fill, stroke.0, stroke.1, stroke.2);
            text_lines(out, x, y, lines, true);
            if let Some(hidden) = hidden {
                let band = lines_height(1);
                rect(out, x + 1.5, y + h - band - 1.5, w - 3.0, band, 6.0, "#d62728", "none", 0.0, None);
                let _ = writeln!(
                    out,
                    r#"<text class="band" x="{}" y="{}">{}</text>"#,
                    num(x + PAD_X),
                    num(y + h - band - 1.5 + PAD_Y + FONT - 1.0),
                    escape(hidden)
                );
            }
        }
        Look::Note(lines) => text_lines(out, x, y, lines, false),
    }
}

#[allow(clippy::too_many_arguments)]
fn rect(
    out: &mut String,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    r: f64,
    fill: &str,
    stroke: &str,
    width: f64,
    dash: Option<&str>,
) {
    let dash = dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default();
    let round = if r > 0.0 { format!(r#" rx="{}""#, num(r)) } else { String::new() };
    let _ = writeln!(
        out,
        r#"<rect x="{}" y="{}" width="{}" height="{}"{round} fill="{fill}" stroke="{stroke}" stroke-width="{}"{dash}/>"#,
        num(x),
        num(y),
        num(w),
        num(h),
        num(width)
    );
}

/// A box's lines of text, the first in bold when `head`.
fn text_lines(out: &mut String, x: f64, y: f64, lines: &[String], head: bool) {
    for (i, line) in lines.iter().enumerate() {
        let class = if head && i == 0 { r#" class="head""# } else { "" };
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}"{class}>{}</text>"#,
            num(x + PAD_X),
            num(y + PAD_Y + i as f64 * LINE + FONT - 1.0),
            escape(line)
        );
    }
}

/// A small label centred at `(x, y)`, on a white halo so it reads over
/// an arrow.
fn small_label(label: &str, x: f64, y: f64, out: &mut String, b: &mut Bounds) {
    let half = text_width(label, SMALL_FONT) / 2.0;
    b.add(x - half, y - SMALL_FONT);
    b.add(x + half, y);
    let _ = writeln!(
        out,
        r#"<text class="small" x="{}" y="{}" text-anchor="middle" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"#,
        num(x),
        num(y),
        escape(label)
    );
}

/// The drawing's extent, grown by every shape as it is drawn.
#[derive(Default)]
struct Bounds {
    max_x: f64,
    max_y: f64,
}

impl Bounds {
    fn add(&mut self, x: f64, y: f64) {
        self.max_x = self.max_x.max(x);
        self.max_y = self.max_y.max(y);
    }
}

/// A coordinate with one decimal, the same on every machine.
fn num(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// `text` safe inside XML or HTML: the markup characters as entities,
/// control characters as spaces (SVG and HTML titles are one line).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
