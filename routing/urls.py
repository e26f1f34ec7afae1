from django.urls import path

from routing.views import actions, board, lead, queue

app_name = "routing"

urlpatterns = [
    path("queue/", queue.assignment_queue, name="queue"),
    path("leads/<int:lead_id>/", lead.lead_workspace, name="lead_workspace"),
    path("assignments/<int:assignment_id>/accept/", actions.assignment_accept, name="assignment_accept"),
    path("assignments/<int:assignment_id>/log/", actions.assignment_log, name="assignment_log"),
    path("assignments/<int:assignment_id>/reject/", actions.assignment_reject, name="assignment_reject"),
    path("manager/", board.board, name="board"),
    path("manager/assignments/<int:assignment_id>/reassign/", board.board_reassign, name="board_reassign"),
    path("manager/reps/<int:rep_id>/", board.board_rep_change, name="board_rep_change"),
    path("manager/reps/<int:rep_id>/capacity/", board.board_rep_capacity, name="board_rep_capacity"),
    path("manager/reps/<int:rep_id>/out-of-office/", board.board_rep_out_of_office, name="board_rep_out_of_office"),
]
